#define _GNU_SOURCE
#include "timer_device.h"

#include <errno.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "machine.h"

// Private futexes: the word is never shared with another process, and the kernel skips the
// mm-wide lookup for them.
static void futex_wait(_Atomic uint32_t* word, uint32_t expected) {
  syscall(SYS_futex, (uint32_t*)word, FUTEX_WAIT_PRIVATE, expected, NULL, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t* word) {
  syscall(SYS_futex, (uint32_t*)word, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
}

void timer_device_init(struct timer_device* timer, struct machine* machine) {
  timer->machine = machine;
  atomic_init(&timer->tick, 0);
  atomic_init(&timer->ticks_total, 0);
}

uint32_t timer_device_current_tick(struct timer_device* timer) {
  return atomic_load(&timer->tick);
}

void timer_device_wait_for_tick_after(struct timer_device* timer, uint32_t seen) {
  // FUTEX_WAIT returns at once (EAGAIN) if the tick already moved, and may wake spuriously or on
  // a signal (EINTR, e.g. when a tracer interrupts the thread): re-check the word each time.
  while (atomic_load(&timer->tick) == seen) futex_wait(&timer->tick, seen);
}

void timer_device_wake_all(struct timer_device* timer) {
  atomic_fetch_add(&timer->tick, 1);
  futex_wake_all(&timer->tick);
}

void* timer_device_thread_main(void* opaque) {
  struct timer_device* timer = opaque;
  machine_thread_started(timer->machine);
  const struct timespec period = {0, 1000 * 1000};
  while (!machine_stopping(timer->machine)) {
    struct timespec left = period;
    // nanosleep is restarted by hand: a ptrace interrupt or a signal ends it early with EINTR.
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
    atomic_fetch_add_explicit(&timer->ticks_total, 1, memory_order_relaxed);
    timer_device_wake_all(timer);
  }
  timer_device_wake_all(timer);
  return NULL;
}
