// Raising a thread's scheduling priority while we wait for it to stop (issue 6).
//
// PTRACE_INTERRUPT only asks: the thread traps when it next runs on its way to user mode. On a
// loaded machine a runnable thread may wait a whole time slice or more for a CPU, and the pause of
// every other (already stopped) thread grows by that much. SCHED_FIFO priority 1 puts it ahead of
// every normal thread, so it reaches its trap at once; its exact attributes are restored after.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>

namespace hotpatch {

// The kernel's struct sched_attr (SCHED_ATTR_SIZE_VER1), declared here because
// <linux/sched/types.h> redefines glibc's struct sched_param.
struct SchedulingAttributes {
  uint32_t size = sizeof(SchedulingAttributes);
  uint32_t policy = 0;
  uint64_t flags = 0;
  int32_t nice = 0;
  uint32_t priority = 0;
  uint64_t runtime = 0;
  uint64_t deadline = 0;
  uint64_t period = 0;
  uint32_t util_min = 0;
  uint32_t util_max = 0;
};
static_assert(sizeof(SchedulingAttributes) == 56, "SCHED_ATTR_SIZE_VER1");

// sched_getattr(2) of a thread; nullopt if it is gone.
std::optional<SchedulingAttributes> TryReadSchedulingAttributes(pid_t tid);
// sched_setattr(2) of a thread (0: the caller); false if it is gone or we may not.
bool TryWriteSchedulingAttributes(pid_t tid, const SchedulingAttributes& attributes);

class ScopedSchedulingBoost {
 public:
  // Raises `tid` to SCHED_FIFO 1. nullopt when there is nothing to do or we may not: the thread
  // is already real-time or deadline-scheduled (lowering it would be wrong), it is gone, or we lack
  // CAP_SYS_NICE / RLIMIT_RTPRIO.
  static std::optional<ScopedSchedulingBoost> TryBoost(pid_t tid);

  ScopedSchedulingBoost(ScopedSchedulingBoost&& other) noexcept;
  ScopedSchedulingBoost& operator=(ScopedSchedulingBoost&&) = delete;
  ScopedSchedulingBoost(const ScopedSchedulingBoost&) = delete;
  ScopedSchedulingBoost& operator=(const ScopedSchedulingBoost&) = delete;
  // Restores the saved attributes exactly (policy, nice, reset-on-fork). Never throws; a thread
  // that exited meanwhile needs nothing.
  ~ScopedSchedulingBoost();

 private:
  ScopedSchedulingBoost(pid_t tid, const SchedulingAttributes& saved) : tid_(tid), saved_(saved) {}

  pid_t tid_ = 0;  // 0 once moved from
  SchedulingAttributes saved_;
};

}  // namespace hotpatch
