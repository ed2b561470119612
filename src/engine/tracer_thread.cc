#include "engine/tracer_thread.h"

#include <sys/prctl.h>

#include <optional>
#include <thread>

#include "process/thread_status.h"

namespace hotpatch {

void WaitUntilThreadReleased(pid_t tid, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  // Gone, or a zombie: exit_notify sets the exit state after exit_ptrace. A tracer thread that
  // someone else traces (strace -f) stays a zombie until they reap it; its tracees are free.
  for (;;) {
    std::optional<TaskStatus> status = TryReadTaskStatus(::getpid(), tid);
    if (!status || status->state == 'Z' || status->state == 'X') return;
    if (std::chrono::steady_clock::now() >= deadline) return;
    std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
}

void UseFineTimerSlack() {
  // 1 ns: the kernel's minimum. Failure only costs precision, so it is ignored.
  ::prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

}  // namespace hotpatch
