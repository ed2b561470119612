#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "control_socket.h"
#include "hotpatch/patch_area.h"
#include "machine.h"

// Appends to a fixed buffer; stops (truncates) at its end rather than overflow it.
struct answer_text {
  char* text;
  size_t size;
  size_t length;
};

__attribute__((format(printf, 2, 3))) static void append(struct answer_text* answer,
                                                         const char* format, ...) {
  if (answer->length + 1 >= answer->size) return;
  va_list args;
  va_start(args, format);
  int n = vsnprintf(answer->text + answer->length, answer->size - answer->length, format, args);
  va_end(args);
  if (n > 0) answer->length += (size_t)n;
  if (answer->length >= answer->size) answer->length = answer->size - 1;
}

static uint64_t relaxed(atomic_uint_least64_t* counter) {
  return atomic_load_explicit(counter, memory_order_relaxed);
}

static void answer_status(struct machine* machine, struct answer_text* answer) {
  uint64_t runs = 0, errors = 0;
  for (unsigned i = 0; i < machine->config.vcpu_count; ++i) {
    runs += relaxed(&machine->vcpus[i].runs);
    errors += relaxed(&machine->vcpus[i].errors);
  }
  struct serial_device* serial = &machine->serial;
  append(answer,
         "pid=%d vcpus=%u vcpu_runs=%" PRIu64 " vcpu_errors=%" PRIu64 " timer_ticks=%" PRIu64
         " serial_lines=%" PRIu64 " serial_bad_lines=%" PRIu64 " serial_ok=%s init_done=%u",
         (int)getpid(), machine->config.vcpu_count, runs, errors,
         relaxed(&machine->timer.ticks_total), relaxed(&serial->lines), relaxed(&serial->bad_lines),
         serial_device_health(serial),
         __atomic_load_n(&hotpatch_module_state.init_done, __ATOMIC_ACQUIRE));
}

static void answer_stats(struct machine* machine, struct answer_text* answer) {
  append(answer, "uptime_ms=%" PRIu64, (monotonic_ns() - machine->start_time_ns) / 1000000);
  for (unsigned i = 0; i < machine->config.vcpu_count; ++i) {
    append(answer, " vcpu%u_runs=%" PRIu64 " vcpu%u_errors=%" PRIu64, i,
           relaxed(&machine->vcpus[i].runs), i, relaxed(&machine->vcpus[i].errors));
  }
  struct serial_device* serial = &machine->serial;
  append(answer, " serial_bytes=%" PRIu64 " serial_dropped_writes=%" PRIu64,
         relaxed(&serial->bytes_received), relaxed(&serial->dropped_writes));
}

void control_answer(struct machine* machine, const char* query, char* text, size_t size,
                    bool* quit) {
  struct answer_text answer = {text, size, 0};
  text[0] = '\0';
  if (strcmp(query, "status") == 0) {
    answer_status(machine, &answer);
  } else if (strcmp(query, "stats") == 0) {
    answer_stats(machine, &answer);
  } else if (strcmp(query, "quit") == 0) {
    append(&answer, "bye");
    *quit = true;
  } else {
    append(&answer, "error unknown query '%.64s' (try status, stats, quit)", query);
  }
}
