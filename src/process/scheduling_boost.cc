#include "process/scheduling_boost.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>

namespace hotpatch {

namespace {

constexpr uint64_t kResetOnFork = 0x01;  // SCHED_FLAG_RESET_ON_FORK (linux/sched.h)

// glibc 2.36 has no wrappers for these.
long SchedGetattr(pid_t tid, SchedulingAttributes& attributes) {
  return ::syscall(SYS_sched_getattr, tid, &attributes, sizeof attributes, 0);
}

long SchedSetattr(pid_t tid, const SchedulingAttributes& attributes) {
  return ::syscall(SYS_sched_setattr, tid, &attributes, 0);
}

}  // namespace

std::optional<SchedulingAttributes> TryReadSchedulingAttributes(pid_t tid) {
  SchedulingAttributes attributes;
  if (SchedGetattr(tid, attributes) != 0) return std::nullopt;
  return attributes;
}

bool TryWriteSchedulingAttributes(pid_t tid, const SchedulingAttributes& attributes) {
  return SchedSetattr(tid, attributes) == 0;
}

std::optional<ScopedSchedulingBoost> ScopedSchedulingBoost::TryBoost(pid_t tid) {
  std::optional<SchedulingAttributes> saved = TryReadSchedulingAttributes(tid);
  if (!saved) return std::nullopt;
  if (saved->policy != SCHED_OTHER && saved->policy != SCHED_BATCH && saved->policy != SCHED_IDLE) {
    return std::nullopt;
  }
  // The kernel reports utilization clamps without the flags that would make sched_setattr apply
  // them, so writing the saved copy back leaves them as they are, which is what we want.
  saved->size = sizeof(SchedulingAttributes);
  SchedulingAttributes boosted;
  boosted.policy = SCHED_FIFO;
  boosted.priority = 1;
  // A thread it creates while boosted must not inherit SCHED_FIFO for good (sched_fork resets the
  // child to SCHED_NORMAL); the restore below puts the thread's own flag back as it was.
  boosted.flags = kResetOnFork;
  if (!TryWriteSchedulingAttributes(tid, boosted)) return std::nullopt;
  return ScopedSchedulingBoost(tid, *saved);
}

ScopedSchedulingBoost::ScopedSchedulingBoost(ScopedSchedulingBoost&& other) noexcept
    : tid_(std::exchange(other.tid_, 0)), saved_(other.saved_) {}

ScopedSchedulingBoost::~ScopedSchedulingBoost() {
  if (tid_ != 0) TryWriteSchedulingAttributes(tid_, saved_);
}

}  // namespace hotpatch
