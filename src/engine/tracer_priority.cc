#include "engine/tracer_priority.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace hotpatch {

namespace {

constexpr uint32_t kTracerPriority = 2;  // above ScopedSchedulingBoost's 1
constexpr uint64_t kResetOnFork = 0x01;  // SCHED_FLAG_RESET_ON_FORK (linux/sched.h)

}  // namespace

ScopedTracerPriority::ScopedTracerPriority(bool enabled) {
  if (!enabled) return;
  pid_t self = gettid();
  std::optional<SchedulingAttributes> saved = TryReadSchedulingAttributes(self);
  if (!saved ||
      (saved->policy != SCHED_OTHER && saved->policy != SCHED_BATCH && saved->policy != SCHED_IDLE))
    return;
  saved->size = sizeof(SchedulingAttributes);
  SchedulingAttributes raised;
  raised.policy = SCHED_FIFO;
  raised.priority = kTracerPriority;
  // A thread the caller starts meanwhile (a daemon's worker) must not inherit SCHED_FIFO.
  raised.flags = kResetOnFork;
  if (TryWriteSchedulingAttributes(self, raised)) saved_ = saved;
}

ScopedTracerPriority::~ScopedTracerPriority() {
  // sched_getattr reported the flags in effect, so writing them back restores reset-on-fork as
  // it was (scheduling_boost.cc does the same for the target's threads).
  if (saved_) TryWriteSchedulingAttributes(gettid(), *saved_);
}

}  // namespace hotpatch
