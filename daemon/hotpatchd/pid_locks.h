// Serializes the requests for one target pid while requests for different pids run in parallel.
// Two engine calls on one process at once would race for the ptrace attachment (only one tracer
// per thread) and for the in-target registry.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>

namespace hotpatch::daemon {

class PidLocks {
 public:
  class Hold {
   public:
    Hold(PidLocks& locks, pid_t pid);
    // Gives up at `deadline` with Error(kBusy): a fleet apply must answer by its deadline even
    // when another request for one of its processes takes longer.
    Hold(PidLocks& locks, pid_t pid, std::chrono::steady_clock::time_point deadline);
    Hold(const Hold&) = delete;
    Hold& operator=(const Hold&) = delete;
    ~Hold();

   private:
    void DropWaiterLocked();  // with locks_.mutex_ held

    PidLocks& locks_;
    pid_t pid_;
  };

 private:
  std::mutex mutex_;
  std::condition_variable released_;
  std::map<pid_t, int> held_;  // pid -> waiters + holder; the entry goes when nobody needs it
  std::map<pid_t, bool> busy_;
};

}  // namespace hotpatch::daemon
