// The timer: a thread that ticks every millisecond and wakes the halted vCPUs.
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

struct machine;

struct timer_device {
  struct machine* machine;
  pthread_t thread;
  // A futex word: vCPUs wait on it in FUTEX_WAIT, the timer bumps it and wakes them all.
  _Atomic uint32_t tick;
  atomic_uint_least64_t ticks_total;
};

void timer_device_init(struct timer_device* timer, struct machine* machine);
void* timer_device_thread_main(void* timer);

uint32_t timer_device_current_tick(struct timer_device* timer);
// Blocks until the tick differs from `seen` (returns at once if it already does).
void timer_device_wait_for_tick_after(struct timer_device* timer, uint32_t seen);
// The final tick at shutdown, so that no vCPU sleeps forever.
void timer_device_wake_all(struct timer_device* timer);
