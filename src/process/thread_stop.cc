#include "process/thread_stop.h"

#include <signal.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/wait.h>

#include <algorithm>
#include <cerrno>
#include <thread>

#include "base/error.h"

namespace hotpatch {

namespace {

// "SIGUSR1"; real-time signals have no abbreviation, so "signal 35".
std::string SignalName(int signal) {
  const char* abbreviation = sigabbrev_np(signal);
  return abbreviation ? std::string("SIG") + abbreviation : "signal " + std::to_string(signal);
}

bool IsStopSignal(int signal) {
  return signal == SIGSTOP || signal == SIGTSTP || signal == SIGTTIN || signal == SIGTTOU;
}

std::optional<ThreadStop> Wait(pid_t tid, int flags) {
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(tid, &status, flags | __WALL | __WNOTHREAD);
    if (r == tid) return DecodeWaitStatus(status);
    if (r == 0) return std::nullopt;
    if (errno == EINTR) continue;
    if (errno == ECHILD) return ThreadStop{StopKind::kGone};
    throw ErrnoError("waitpid for tid " + std::to_string(tid));
  }
}

}  // namespace

ThreadStop DecodeWaitStatus(int status) {
  ThreadStop stop;
  stop.raw_status = status;
  if (WIFEXITED(status)) {
    stop.kind = StopKind::kExited;
  } else if (WIFSIGNALED(status)) {
    stop.kind = StopKind::kExited;
    stop.signal = WTERMSIG(status);
  } else if (WIFSTOPPED(status)) {
    int event = status >> 16;
    stop.signal = WSTOPSIG(status);
    if (event == PTRACE_EVENT_STOP) {
      stop.kind = IsStopSignal(stop.signal) ? StopKind::kGroupStop : StopKind::kInterrupt;
    } else if (event == PTRACE_EVENT_CLONE) {
      stop.kind = StopKind::kClone;
    } else if (event != 0) {
      stop.kind = StopKind::kOtherEvent;
    } else {
      stop.kind = StopKind::kSignalDelivery;
    }
  }
  return stop;
}

ThreadStop WaitForThreadStop(pid_t tid) {
  return *Wait(tid, 0);
}

std::optional<ThreadStop> PollThreadStop(pid_t tid) {
  return Wait(tid, WNOHANG);
}

bool AnyReportPending() {
  siginfo_t info{};
  // __WNOTHREAD: only this thread's tracees and children, as for every other wait here.
  if (::waitid(P_ALL, 0, &info, WEXITED | WSTOPPED | WNOHANG | WNOWAIT | __WALL | __WNOTHREAD) != 0)
    return true;
  return info.si_pid != 0;
}

void PollingNaps::SleepBefore(std::chrono::steady_clock::time_point deadline) {
  auto left = deadline - std::chrono::steady_clock::now();
  if (left <= std::chrono::steady_clock::duration::zero()) return;
  std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(nap_, left));
  nap_ = std::min<std::chrono::nanoseconds>(nap_ * 3 / 2, std::chrono::microseconds(500));
}

std::optional<ThreadStop> WaitForThreadStopUntil(pid_t tid,
                                                 std::chrono::steady_clock::time_point deadline) {
  PollingNaps naps(std::chrono::microseconds(2));  // a single step reports within microseconds
  for (;;) {
    if (std::optional<ThreadStop> stop = PollThreadStop(tid)) return stop;
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    naps.SleepBefore(deadline);
  }
}

std::string DescribeStop(const ThreadStop& stop) {
  std::string signal = stop.signal ? " (" + SignalName(stop.signal) + ")" : "";
  switch (stop.kind) {
    case StopKind::kExited:
      return "exit" + signal;
    case StopKind::kGone:
      return "no longer traced";
    case StopKind::kInterrupt:
      return "interrupt-stop";
    case StopKind::kGroupStop:
      return "group-stop" + signal;
    case StopKind::kSignalDelivery:
      return "signal-delivery-stop" + signal;
    case StopKind::kClone:
      return "clone event";
    case StopKind::kOtherEvent:
      return "ptrace event " + std::to_string(stop.raw_status >> 16);
  }
  return "unknown stop";
}

}  // namespace hotpatch
