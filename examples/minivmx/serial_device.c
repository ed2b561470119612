#define _GNU_SOURCE
#include "serial_device.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "machine.h"

bool serial_device_init(struct serial_device* serial, struct machine* machine,
                        const char* log_path) {
  serial->machine = machine;
  serial_ring_init(&serial->ring);
  pthread_mutex_init(&serial->producer_lock, NULL);
  serial->partial_length = 0;
  atomic_init(&serial->bytes_received, 0);
  atomic_init(&serial->lines, 0);
  atomic_init(&serial->bad_lines, 0);
  atomic_init(&serial->dropped_writes, 0);
  atomic_init(&serial->recent_bad_mask, 0);
  serial->log_fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (serial->log_fd < 0) return false;
  serial->doorbell_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  return serial->doorbell_fd >= 0;
}

void serial_device_close(struct serial_device* serial) {
  close(serial->doorbell_fd);
  close(serial->log_fd);
  pthread_mutex_destroy(&serial->producer_lock);
}

void serial_device_write(struct serial_device* serial, const char* bytes, size_t length) {
  pthread_mutex_lock(&serial->producer_lock);
  bool stored = serial_ring_write(&serial->ring, bytes, length);
  pthread_mutex_unlock(&serial->producer_lock);
  if (!stored) {
    atomic_fetch_add_explicit(&serial->dropped_writes, 1, memory_order_relaxed);
    return;
  }
  uint64_t one = 1;
  // A full eventfd counter (EAGAIN) still means "readable", which is all the doorbell says.
  (void)!write(serial->doorbell_fd, &one, sizeof one);
}

static void serial_device_check_line(struct serial_device* serial, const char* line,
                                     size_t length) {
  bool bad = !serial_line_is_intact(line, length);
  atomic_fetch_add_explicit(&serial->lines, 1, memory_order_relaxed);
  if (bad) atomic_fetch_add_explicit(&serial->bad_lines, 1, memory_order_relaxed);
  uint64_t mask = atomic_load_explicit(&serial->recent_bad_mask, memory_order_relaxed);
  atomic_store_explicit(&serial->recent_bad_mask, (mask << 1) | (bad ? 1 : 0),
                        memory_order_relaxed);
}

// Splits drained bytes into lines; a line longer than any the guest writes is bad by itself.
static void serial_device_receive(struct serial_device* serial, const char* bytes, size_t length) {
  for (size_t i = 0; i < length; ++i) {
    if (bytes[i] == '\n') {
      serial_device_check_line(serial, serial->partial_line, serial->partial_length);
      serial->partial_length = 0;
      continue;
    }
    if (serial->partial_length == sizeof serial->partial_line) {
      serial_device_check_line(serial, serial->partial_line, serial->partial_length);
      serial->partial_length = 0;
    }
    serial->partial_line[serial->partial_length++] = bytes[i];
  }
}

static void serial_device_drain(struct serial_device* serial) {
  char chunk[SERIAL_RING_SIZE];
  size_t length;
  while ((length = serial_ring_read(&serial->ring, chunk, sizeof chunk)) > 0) {
    atomic_fetch_add_explicit(&serial->bytes_received, length, memory_order_relaxed);
    (void)!write(serial->log_fd, chunk, length);
    serial_device_receive(serial, chunk, length);
  }
}

void* serial_device_thread_main(void* opaque) {
  struct serial_device* serial = opaque;
  struct machine* machine = serial->machine;
  machine_thread_started(machine);
  struct pollfd fds[2] = {{serial->doorbell_fd, POLLIN, 0}, {machine->stop_fd, POLLIN, 0}};
  while (!machine_stopping(machine)) {
    // EINTR (a signal, or a tracer's PTRACE_INTERRUPT) just means look again.
    if (poll(fds, 2, -1) < 0 && errno != EINTR) break;
    uint64_t rings;
    (void)!read(serial->doorbell_fd, &rings, sizeof rings);
    serial_device_drain(serial);
  }
  serial_device_drain(serial);
  return NULL;
}

const char* serial_device_health(struct serial_device* serial) {
  if (atomic_load_explicit(&serial->lines, memory_order_relaxed) < SERIAL_RECENT_LINES)
    return "unknown";
  return atomic_load_explicit(&serial->recent_bad_mask, memory_order_relaxed) == 0 ? "yes" : "no";
}
