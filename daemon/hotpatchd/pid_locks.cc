#include "hotpatchd/pid_locks.h"

#include <string>

#include "base/error.h"

namespace hotpatch::daemon {

PidLocks::Hold::Hold(PidLocks& locks, pid_t pid) : locks_(locks), pid_(pid) {
  std::unique_lock lock(locks_.mutex_);
  ++locks_.held_[pid_];
  locks_.released_.wait(lock, [&] { return !locks_.busy_[pid_]; });
  locks_.busy_[pid_] = true;
}

PidLocks::Hold::Hold(PidLocks& locks, pid_t pid, std::chrono::steady_clock::time_point deadline)
    : locks_(locks), pid_(pid) {
  std::unique_lock lock(locks_.mutex_);
  ++locks_.held_[pid_];
  if (!locks_.released_.wait_until(lock, deadline, [&] { return !locks_.busy_[pid_]; })) {
    DropWaiterLocked();
    throw Error(ErrorCode::kBusy, "pid " + std::to_string(pid) +
                                      ": another request for this process did not finish before "
                                      "the deadline");
  }
  locks_.busy_[pid_] = true;
}

PidLocks::Hold::~Hold() {
  {
    std::lock_guard lock(locks_.mutex_);
    locks_.busy_[pid_] = false;
    DropWaiterLocked();
  }
  locks_.released_.notify_all();
}

void PidLocks::Hold::DropWaiterLocked() {
  if (--locks_.held_[pid_] == 0) {
    locks_.held_.erase(pid_);
    locks_.busy_.erase(pid_);
  }
}

}  // namespace hotpatch::daemon
