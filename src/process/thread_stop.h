// What a traced thread reports to its tracer, decoded from the wait status.
//
// With PTRACE_SEIZE the kernel reports (see ptrace(2), "Stopped states"):
//  - PTRACE_EVENT_STOP with SIGTRAP: our PTRACE_INTERRUPT, or the first stop of a thread that
//    PTRACE_O_TRACECLONE attached for us;
//  - PTRACE_EVENT_STOP with a stop signal (SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU): a group-stop;
//  - a plain stop with a signal: signal-delivery-stop, the signal is ours to re-inject or lose;
//  - PTRACE_EVENT_CLONE: the thread is inside clone() and has created a new, attached thread.
// Waits always name the tid (__WALL for threads, __WNOTHREAD so that in a multi-threaded daemon
// we never reap a stop that belongs to a tracee of another of our threads).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

namespace hotpatch {

enum class StopKind {
  kExited,          // exited or killed: the thread is gone (its zombie is reaped by the wait)
  kGone,            // waitpid said ECHILD: no longer our tracee (reaped elsewhere, or vanished)
  kInterrupt,       // PTRACE_EVENT_STOP with SIGTRAP
  kGroupStop,       // PTRACE_EVENT_STOP with a stop signal
  kSignalDelivery,  // about to deliver `signal`
  kClone,           // PTRACE_EVENT_CLONE, inside the clone() system call
  kOtherEvent,      // any other PTRACE_EVENT (exec, ...), inside a system call
};

struct ThreadStop {
  StopKind kind = StopKind::kGone;
  int signal = 0;  // the signal of a signal-delivery-stop or group-stop; the killing signal
  int raw_status = 0;

  // At the boundary to user mode (a jobctl trap or a signal-delivery-stop): registers are the
  // thread's user-mode state and may be changed. Event stops happen inside a system call.
  bool at_user_boundary() const {
    return kind == StopKind::kInterrupt || kind == StopKind::kGroupStop ||
           kind == StopKind::kSignalDelivery;
  }
};

ThreadStop DecodeWaitStatus(int status);

// Blocks until `tid` reports a stop or its exit.
ThreadStop WaitForThreadStop(pid_t tid);
// Returns the stop `tid` has already reported, if any, without blocking.
std::optional<ThreadStop> PollThreadStop(pid_t tid);
// False only when no tracee (and no child) of the calling thread has a stop or exit to report:
// one waitid(P_ALL, WNOHANG | WNOWAIT), which consumes nothing, instead of polling every thread
// in turn. True when something is pending, and when the probe cannot tell (ECHILD: no tracee
// left — the per-thread polls then see each thread gone).
bool AnyReportPending();

// The sleeps between polls of waits that cannot block (waitpid cannot time out, and a library has
// no signal of its own to interrupt it with). Naps rather than sched_yield, which a real-time
// caller would spin through without letting the awaited thread run on its CPU. Short at first,
// growing by half up to 500 µs, so a long wait costs few polls.
class PollingNaps {
 public:
  explicit PollingNaps(std::chrono::nanoseconds first) : nap_(first) {}
  // Sleeps the next nap, but not past `deadline`.
  void SleepBefore(std::chrono::steady_clock::time_point deadline);

 private:
  std::chrono::nanoseconds nap_;
};

// Polls until `tid` reports a stop or its exit; nullopt at `deadline`.
std::optional<ThreadStop> WaitForThreadStopUntil(pid_t tid,
                                                 std::chrono::steady_clock::time_point deadline);

// "signal-delivery-stop (SIGUSR1)", for messages.
std::string DescribeStop(const ThreadStop& stop);

}  // namespace hotpatch
