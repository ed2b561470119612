// A virtual CPU: a thread interpreting the guest program in a loop, checking every result.
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "guest_program.h"

struct machine;

struct vcpu {
  struct machine* machine;
  unsigned index;
  pthread_t thread;
  uint64_t regs[GUEST_REGISTER_COUNT];
  uint32_t pc;
  // Read by the control thread while the vCPU runs, hence atomic (relaxed is enough: counters).
  atomic_uint_least64_t runs;
  atomic_uint_least64_t errors;
} __attribute__((aligned(64)));  // one cache line each: the counters are hot

void vcpu_init(struct vcpu* vcpu, struct machine* machine, unsigned index);
void* vcpu_thread_main(void* vcpu);
