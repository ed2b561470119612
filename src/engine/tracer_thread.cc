#include "engine/tracer_thread.h"

#include <sys/prctl.h>
#include <sys/stat.h>

#include <string>
#include <thread>

namespace hotpatch {

void WaitUntilThreadReleased(pid_t tid, std::chrono::milliseconds limit) {
  std::string task = "/proc/self/task/" + std::to_string(tid);
  auto deadline = std::chrono::steady_clock::now() + limit;
  struct stat entry;
  // Microseconds in practice; bounded for a tracer thread someone else traces (strace), which the
  // kernel releases only when that tracer reaps it.
  while (::stat(task.c_str(), &entry) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::microseconds(20));
}

void UseFineTimerSlack() {
  // 1 ns: the kernel's minimum. Failure only costs precision, so it is ignored.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

}  // namespace hotpatch
