// Prototype of the scheduling boost of issue 6, measured here before it moves into src/process:
// after PTRACE_INTERRUPT of every thread, a thread only enters its ptrace-stop when the scheduler
// next runs it. With more runnable threads than cores that is up to one scheduling period per
// thread, so the last of 256 busy threads stops ~170 ms later. Raising the threads that have not
// stopped yet to SCHED_FIFO 1 makes the scheduler run them next (an RT task preempts every
// SCHED_OTHER task), and each one stops at once.
//
// The exact scheduling attributes of each boosted thread (policy, nice, RT priority, deadline
// parameters, flags) are saved with sched_getattr and restored with sched_setattr: a target may run
// RT threads of its own. Restore() runs before the threads are resumed, and the destructor restores
// whatever is still boosted, so no error path leaves a thread at RT priority.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

namespace hotpatch::bench {

// struct sched_attr of the kernel ABI (include/uapi/linux/sched/types.h), version 1 with the
// utilization clamps: <linux/sched/types.h> cannot be included next to glibc's <sched.h> (both
// define struct sched_param), and glibc 2.36 has no definition of its own.
struct SchedAttributes {
  uint32_t size;
  uint32_t sched_policy;
  uint64_t sched_flags;
  int32_t sched_nice;
  uint32_t sched_priority;
  uint64_t sched_runtime;
  uint64_t sched_deadline;
  uint64_t sched_period;
  uint32_t sched_util_min;
  uint32_t sched_util_max;
};

class SchedulingBoost {
 public:
  SchedulingBoost() = default;
  ~SchedulingBoost() { Restore(); }
  SchedulingBoost(const SchedulingBoost&) = delete;
  SchedulingBoost& operator=(const SchedulingBoost&) = delete;

  // Saves `tid`'s attributes and makes it SCHED_FIFO `priority`. False if the thread is gone
  // (ESRCH) or the kernel refuses (no CAP_SYS_NICE): the stop then just takes longer.
  bool Boost(pid_t tid, int priority);
  // Gives every boosted thread its saved attributes back. Never throws.
  void Restore() noexcept;

  size_t boosted() const { return saved_.size(); }

 private:
  struct SavedAttributes {
    pid_t tid;
    SchedAttributes attributes;
  };
  std::vector<SavedAttributes> saved_;
};

}  // namespace hotpatch::bench
