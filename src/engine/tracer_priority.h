// The engine's own thread at SCHED_FIFO 2 while it holds the target stopped (issue 6).
//
// Stopping and resuming are loops of ptrace requests, one per thread. On a loaded machine each
// PTRACE_CONT makes a busy thread runnable, the scheduler lets it preempt the tracer (wake-up
// preemption), and the next PTRACE_CONT waits until the tracer gets a CPU back: 256 busy threads
// took 0.8 s to resume on 2 cores, while every thread not yet resumed stayed stopped. A real-time
// tracer is preempted by none of them. Priority 2 is above the SCHED_FIFO 1 that
// ProcessAttachment gives threads it is still waiting for (scheduling_boost.h), so those do not
// preempt the tracer either. The tracer sleeps in waitpid or nanosleep whenever it waits, and RT
// throttling (sched_rt_runtime_us) bounds what a bug could take.
#pragma once

#include <optional>

#include "process/scheduling_boost.h"

namespace hotpatch {

class ScopedTracerPriority {
 public:
  // Raises the calling thread to SCHED_FIFO 2 when `enabled` and it is a normal thread; does
  // nothing when it already is real-time or deadline-scheduled, or without CAP_SYS_NICE.
  explicit ScopedTracerPriority(bool enabled);
  // Restores the calling thread's exact attributes. Never throws. Must run on the same thread.
  ~ScopedTracerPriority();
  ScopedTracerPriority(const ScopedTracerPriority&) = delete;
  ScopedTracerPriority& operator=(const ScopedTracerPriority&) = delete;

  bool raised() const { return saved_.has_value(); }

 private:
  std::optional<SchedulingAttributes> saved_;
};

}  // namespace hotpatch
