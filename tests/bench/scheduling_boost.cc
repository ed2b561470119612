#include "scheduling_boost.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace hotpatch::bench {

namespace {

// The state flags of struct sched_attr (include/uapi/linux/sched.h), which glibc does not define.
constexpr uint64_t kFlagResetOnFork = 0x01;
constexpr uint64_t kFlagReclaim = 0x02;
constexpr uint64_t kFlagDeadlineOverrun = 0x04;

// glibc 2.36 has no wrappers for these (they came in 2.41).
int GetAttributes(pid_t tid, SchedAttributes& attributes) {
  return static_cast<int>(syscall(SYS_sched_getattr, tid, &attributes, sizeof attributes, 0));
}
int SetAttributes(pid_t tid, const SchedAttributes& attributes) {
  return static_cast<int>(syscall(SYS_sched_setattr, tid, &attributes, 0));
}

}  // namespace

bool SchedulingBoost::Boost(pid_t tid, int priority) {
  SavedAttributes saved{tid, {}};
  if (GetAttributes(tid, saved.attributes) != 0) return false;
  SchedAttributes fifo{};
  fifo.size = sizeof fifo;
  fifo.sched_policy = SCHED_FIFO;
  fifo.sched_priority = static_cast<uint32_t>(priority);
  if (SetAttributes(tid, fifo) != 0) return false;
  saved_.push_back(saved);
  return true;
}

void SchedulingBoost::Restore() noexcept {
  for (auto& s : saved_) {
    // sched_getattr reports the flags in effect; SCHED_FLAG_KEEP_* and the utilization-clamp
    // flags are requests, not state, so give back only the state flags.
    s.attributes.sched_flags &= kFlagResetOnFork | kFlagReclaim | kFlagDeadlineOverrun;
    s.attributes.size = sizeof s.attributes;
    SetAttributes(s.tid, s.attributes);  // ESRCH: the thread exited, nothing to restore
  }
  saved_.clear();
}

}  // namespace hotpatch::bench
