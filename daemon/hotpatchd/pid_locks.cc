#include "hotpatchd/pid_locks.h"

namespace hotpatch::daemon {

PidLocks::Hold::Hold(PidLocks& locks, pid_t pid) : locks_(locks), pid_(pid) {
  std::unique_lock lock(locks_.mutex_);
  ++locks_.held_[pid_];
  locks_.released_.wait(lock, [&] { return !locks_.busy_[pid_]; });
  locks_.busy_[pid_] = true;
}

PidLocks::Hold::~Hold() {
  {
    std::lock_guard lock(locks_.mutex_);
    locks_.busy_[pid_] = false;
    if (--locks_.held_[pid_] == 0) {
      locks_.held_.erase(pid_);
      locks_.busy_.erase(pid_);
    }
  }
  locks_.released_.notify_all();
}

}  // namespace hotpatch::daemon
