// A thread that runs the jobs its owner hands it, one at a time: the second core's share of work
// the owner splits (the stack walks of a stop with many threads, issue 6's "unwinding on both
// cores"). Handing a job over and waiting for it are a futex each (std::atomic wait/notify); an
// idle JobThread sleeps in the kernel and costs nothing but its stack.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <thread>

namespace hotpatch {

class JobThread {
 public:
  JobThread();
  // Waits for the job in progress, then ends the thread.
  ~JobThread();
  JobThread(const JobThread&) = delete;
  JobThread& operator=(const JobThread&) = delete;

  // Hands `job` over and returns at once, after waiting for the previous job if nobody did (it
  // rethrows what that one threw).
  void Start(std::function<void()> job);
  // Returns when the job started last has returned; rethrows what it threw. Spins first, for up
  // to `spin` (a futex wait lets the CPU go idle, and waking it again can cost more than the rest
  // of a short job; on a virtual machine whose idle vCPUs halt, tens of microseconds).
  void Wait(std::chrono::microseconds spin = std::chrono::microseconds(0));

  // The thread's id, for setting its scheduling attributes.
  pid_t tid() const { return tid_.load(std::memory_order_acquire); }

 private:
  void Run();

  std::function<void()> job_;
  std::exception_ptr failure_;
  // Jobs handed over and jobs finished: Start publishes job_ with the release of `started_`,
  // the thread publishes failure_ with the release of `finished_`.
  std::atomic<uint32_t> started_{0};
  std::atomic<uint32_t> finished_{0};
  bool stopping_ = false;  // written before the last increment of started_
  std::atomic<pid_t> tid_{0};
  std::thread thread_;
};

}  // namespace hotpatch
