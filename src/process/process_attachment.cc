#include "process/process_attachment.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <thread>
#include <utility>

#include "base/error.h"
#include "process/ptrace_request.h"
#include "process/remote_syscall.h"
#include "process/scheduling_boost.h"
#include "process/signal_requeue.h"
#include "process/thread_status.h"

namespace hotpatch {

namespace {

using Clock = std::chrono::steady_clock;

std::string PidText(pid_t pid) {
  return "pid " + std::to_string(pid);
}

// Resuming a thread fails with ESRCH when it was killed (SIGKILL wakes even a ptrace-stopped
// thread): its exit is reported to us later, which is where we forget it.
void ThrowUnlessGone(int err, std::string_view request, pid_t tid) {
  if (err != 0 && err != ESRCH) throw PtraceError(request, tid, err);
}

}  // namespace

ProcessAttachment::ProcessAttachment(pid_t pid) : pid_(pid), tracer_tid_(::gettid()) {}

ProcessAttachment::ProcessAttachment(ProcessAttachment&& other) noexcept
    : pid_(std::exchange(other.pid_, 0)),
      tracer_tid_(other.tracer_tid_),
      memory_(std::move(other.memory_)),
      threads_(std::move(other.threads_)),
      stopped_(std::exchange(other.stopped_, false)),
      left_to_tracer_exit_(other.left_to_tracer_exit_),
      boost_while_stopping_(other.boost_while_stopping_),
      stopped_threads_(std::move(other.stopped_threads_)),
      stop_began_(other.stop_began_),
      last_pause_(other.last_pause_),
      last_stop_latency_(other.last_stop_latency_),
      last_boosted_threads_(other.last_boosted_threads_),
      syscall_instruction_(other.syscall_instruction_) {
  other.threads_.clear();
}

ProcessAttachment ProcessAttachment::Seize(pid_t pid) {
  if (pid <= 0) throw Error(ErrorCode::kBadRequest, "cannot attach to " + PidText(pid));
  if (pid == ::getpid()) {
    throw Error(ErrorCode::kBadRequest, "cannot attach to " + PidText(pid) +
                                            ": it is this process (a thread cannot "
                                            "trace its own thread group)");
  }
  std::optional<TaskStatus> status = TryReadTaskStatus(pid, pid);
  if (!status) throw Error(ErrorCode::kNoSuchProcess, PidText(pid) + " does not exist");
  // A zombie leader with live threads is a running process whose main thread called
  // pthread_exit; without other threads it has exited.
  if ((status->state == 'Z' || status->state == 'X') && ListThreads(pid).size() <= 1) {
    throw Error(ErrorCode::kNoSuchProcess, PidText(pid) + " has exited (zombie)");
  }
  if (status->tracer_pid != 0) {
    throw Error(ErrorCode::kPermissionDenied,
                PidText(pid) + " is already traced by tid " + std::to_string(status->tracer_pid) +
                    " (TracerPid in /proc/" + std::to_string(pid) + "/status)");
  }
  ProcessAttachment attachment(pid);
  // From here on, a throw runs the destructor, which detaches whatever was seized.
  attachment.SeizeNewThreads();
  if (attachment.threads_.empty()) {
    throw Error(ErrorCode::kNoSuchProcess, PidText(pid) + " exited while attaching");
  }
  // Threads created while we scanned stop at birth, and their creators at the clone event.
  attachment.ServicePendingStops(Mode::kRunning);
  // A zombie leader has released its address space: /proc/PID/mem and process_vm_readv(PID) then
  // fail, so reach the memory through a live thread (every thread shares it). An open
  // /proc/TID/mem keeps the address space reachable even if that thread exits later.
  pid_t live = pid;
  if (std::optional<TaskStatus> leader = TryReadTaskStatus(pid, pid);
      !leader || leader->state == 'Z' || leader->state == 'X') {
    auto other = std::find_if(attachment.threads_.begin(), attachment.threads_.end(),
                              [pid](const auto& entry) { return entry.first != pid; });
    if (other != attachment.threads_.end()) live = other->first;
  }
  attachment.memory_ = std::make_unique<RemoteMemory>(live);
  return attachment;
}

ProcessAttachment::~ProcessAttachment() {
  if (pid_ == 0 || left_to_tracer_exit_) return;  // moved from, or the kernel detaches
  try {
    // Only a stopped thread can be detached (PTRACE_DETACH, like most requests, needs the
    // tracee in a ptrace-stop), and stopping also collects the signals we must give back.
    if (!stopped_) TryStopAll(Clock::now() + kDefaultStopLimit);
  } catch (...) {
    // Best effort below: detach whatever is stopped; a thread we cannot stop any more is gone.
  }
  DetachAll();
}

void ProcessAttachment::CheckTracerThread(const char* operation) const {
  if (::gettid() != tracer_tid_) {
    throw Error(ErrorCode::kInternal,
                std::string(operation) + " of " + PidText(pid_) + " called on thread " +
                    std::to_string(::gettid()) + ", but only the thread that attached (" +
                    std::to_string(tracer_tid_) + ") may issue ptrace requests for it");
  }
}

void ProcessAttachment::SeizeNewThreads() {
  for (bool found_new = true; found_new;) {
    found_new = false;
    for (pid_t tid : ListThreads(pid_)) {
      if (threads_.contains(tid)) continue;
      int err = TryPtraceSeize(tid);
      if (err == ESRCH) continue;  // exited since we listed it
      if (err == EPERM) {
        std::optional<TaskStatus> status = TryReadTaskStatus(pid_, tid);
        // An exiting thread refuses attachment; it does not matter any more.
        if (!status || status->state == 'Z' || status->state == 'X') continue;
        // PTRACE_O_TRACECLONE attached it for us already: its creator was seized first.
        if (status->tracer_pid == tracer_tid_) err = 0;
        if (status->tracer_pid != 0 && status->tracer_pid != tracer_tid_) {
          throw Error(ErrorCode::kPermissionDenied,
                      "tid " + std::to_string(tid) + " of " + PidText(pid_) +
                          " is already traced by tid " + std::to_string(status->tracer_pid));
        }
      }
      if (err != 0) {
        throw ErrnoError("PTRACE_SEIZE of tid " + std::to_string(tid) + " of " + PidText(pid_),
                         err);
      }
      threads_[tid].tid = tid;
      found_new = true;
    }
  }
}

void ProcessAttachment::HandleStop(TracedThread& thread, const ThreadStop& stop, Mode mode) {
  pid_t tid = thread.tid;
  switch (stop.kind) {
    case StopKind::kExited:
    case StopKind::kGone:
      // Signals a dead thread held die with it, as they would have without us.
      threads_.erase(tid);
      return;
    case StopKind::kClone:
      FollowClone(tid);
      [[fallthrough]];
    case StopKind::kOtherEvent:
      // Event stops happen inside a system call: registers are not the user-mode state yet. Let
      // the call finish; while stopping, the interrupt (re-armed: any trap clears a pending one)
      // traps the thread again on its way back to user mode.
      if (mode == Mode::kStopping)
        ThrowUnlessGone(TryPtraceInterrupt(tid), "PTRACE_INTERRUPT", tid);
      ThrowUnlessGone(TryPtraceContinue(tid, 0), "PTRACE_CONT", tid);
      return;
    case StopKind::kInterrupt:
      // The kernel reports a jobctl trap with the stop signal as long as a group-stop is in
      // effect (do_jobctl_trap), so SIGTRAP here means the group-stop, if any, has ended.
      thread.group_stopped = false;
      if (mode == Mode::kStopping) {
        thread.stopped = true;
        thread.stop_kind = stop.kind;
      } else {
        ThrowUnlessGone(TryPtraceContinue(tid, 0), "PTRACE_CONT", tid);
      }
      return;
    case StopKind::kGroupStop:
      thread.group_stopped = true;
      if (mode == Mode::kStopping) {
        thread.stopped = true;
        thread.stop_kind = stop.kind;
      } else {
        // PTRACE_CONT would run the thread although its process is stopped; PTRACE_LISTEN keeps it
        // stopped and still lets it report SIGCONT or our next interrupt.
        ThrowUnlessGone(TryPtraceListen(tid), "PTRACE_LISTEN", tid);
      }
      return;
    case StopKind::kSignalDelivery:
      if (thread.step_trap_possible && stop.signal == SIGTRAP) {
        siginfo_t info{};
        if (TryPtraceGetSignalInfo(tid, info) == 0 && info.si_code == TRAP_TRACE) {
          // The late trap of a single step we gave up waiting for: ours, not the target's.
          thread.step_trap_possible = false;
          if (mode == Mode::kStopping) {
            ThrowUnlessGone(TryPtraceInterrupt(tid), "PTRACE_INTERRUPT", tid);
          }
          ThrowUnlessGone(TryPtraceContinue(tid, 0), "PTRACE_CONT", tid);
          return;
        }
      }
      if (mode == Mode::kStopping) {
        // It has dequeued the signal; it is gone from the kernel's queue and only we can give it
        // back (ResumeAll / detach).
        siginfo_t info{};
        try {
          info = PtraceGetSignalInfo(tid);
        } catch (const Error&) {
          info.si_signo = stop.signal;
          info.si_code = SI_USER;
        }
        thread.held_signals.push_back(info);
        thread.stopped = true;
        thread.stop_kind = stop.kind;
      } else {
        ThrowUnlessGone(TryPtraceContinue(tid, stop.signal), "PTRACE_CONT", tid);
      }
      return;
  }
}

void ProcessAttachment::ServicePendingStops(Mode mode) {
  // Bounded: a thread flooded with signals would otherwise keep us here forever.
  for (int round = 0; round < 1000; ++round) {
    if (!AnyReportPending()) return;
    bool any_reported = false;
    std::vector<pid_t> running;
    for (const auto& [tid, thread] : threads_) {
      if (!thread.stopped) running.push_back(tid);
    }
    for (pid_t tid : running) {
      auto it = threads_.find(tid);
      if (it == threads_.end()) continue;
      std::optional<ThreadStop> stop = PollThreadStop(tid);
      if (!stop) continue;
      any_reported = true;
      HandleStop(it->second, *stop, mode);
    }
    if (!any_reported) return;
  }
}

void ProcessAttachment::FollowClone(pid_t parent) {
  auto new_tid = static_cast<pid_t>(PtraceGetEventMessage(parent));
  if (new_tid <= 0) return;
  if (IsThreadOf(pid_, new_tid)) {
    // Attached by PTRACE_O_TRACECLONE; it reports a PTRACE_EVENT_STOP at birth.
    threads_[new_tid].tid = new_tid;
    return;
  }
  // PTRACE_O_TRACECLONE attaches every clone whose exit signal is not SIGCHLD, threads or not.
  // A process is not ours to hold: its registers and memory are not the target's. It reports
  // its birth stop before running any code of its own; detach it from there.
  ThreadStop birth = WaitForThreadStop(new_tid);
  if (birth.kind != StopKind::kExited && birth.kind != StopKind::kGone) {
    TryPtraceDetach(new_tid, 0);
  }
}

bool ProcessAttachment::WaitUntilAllStopped(Clock::time_point deadline) {
  // Polled, never a blocking wait, for two kernel behaviours: a thread in an uninterruptible or
  // killable sleep (a vfork parent in wait_for_vfork_done) traps only when it leaves it; and when
  // the process dies, its leader's exit is reported only after every other thread has been reaped
  // (delay_group_leader) — by us, their tracer, so waiting for the leader first waits forever.
  // The engine's tracer may run at SCHED_FIFO 2 (tracer_priority.h), hence naps (PollingNaps).
  PollingNaps naps(std::chrono::microseconds(5));  // most threads trap within microseconds
  bool leader_checked = false;
  for (;;) {
    ServicePendingStops(Mode::kStopping);
    size_t unstopped = std::count_if(threads_.begin(), threads_.end(),
                                     [](const auto& entry) { return !entry.second.stopped; });
    if (unstopped == 0) return true;
    // A leader that called pthread_exit stays a zombie while other threads live and never traps.
    // Its status is read only when it is the last thread not stopped, not in every stop.
    if (unstopped == 1 && !leader_checked && threads_.size() > 1) {
      auto leader = threads_.find(pid_);
      if (leader != threads_.end() && !leader->second.stopped) {
        leader_checked = true;
        SetAsideZombieLeader();
        if (leader->second.stopped) return true;
      }
    }
    if (Clock::now() >= deadline) return false;
    naps.SleepBefore(deadline);
  }
}

std::string ProcessAttachment::DescribeUnstoppedThreads() const {
  std::string text;
  for (const auto& [tid, thread] : threads_) {
    if (thread.stopped) continue;
    if (!text.empty()) text += "; ";
    text += "tid " + std::to_string(tid) + " (" + ReadThreadName(pid_, tid) +
            "): " + DescribeThreadState(pid_, tid);
  }
  return text;
}

void ProcessAttachment::StopAll(std::chrono::microseconds limit) {
  CheckTracerThread("StopAll");
  if (left_to_tracer_exit_)
    throw Error(ErrorCode::kInternal, "StopAll of " + PidText(pid_) +
                                          " after its threads were left to the tracer's exit");
  if (stopped_) return;
  auto began = Clock::now();
  if (TryStopAll(began + limit)) return;
  std::string unstopped = DescribeUnstoppedThreads();
  std::optional<Error> resume_error = ResumeStoppedThreads();
  last_pause_ = Clock::now() - stop_began_;
  stopped_threads_.clear();
  std::string message =
      PidText(pid_) + ": not stopped within " +
      std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(limit).count()) +
      " ms: " + unstopped + "; every other thread runs again";
  if (resume_error) message += " (but resuming failed: " + std::string(resume_error->what()) + ")";
  throw Error(ErrorCode::kBusy, message);
}

bool ProcessAttachment::TryStopAll(Clock::time_point deadline) {
  stop_began_ = Clock::now();
  // Take the stops already reported first: interrupting a thread that is already in a
  // ptrace-stop leaves the interrupt pending, and it would trap again right after we resume it.
  ServicePendingStops(Mode::kStopping);
  // Restored when StopAll returns or throws, before the caller sees the threads.
  std::vector<ScopedSchedulingBoost> boosts;
  for (;;) {
    for (auto& [tid, thread] : threads_) {
      if (!thread.stopped) ThrowUnlessGone(TryPtraceInterrupt(tid), "PTRACE_INTERRUPT", tid);
    }
    if (boost_while_stopping_) {
      // Only those still on their way: most threads trap within microseconds.
      ServicePendingStops(Mode::kStopping);
      for (const auto& [tid, thread] : threads_) {
        if (thread.stopped) continue;
        if (auto boost = ScopedSchedulingBoost::TryBoost(tid)) boosts.push_back(std::move(*boost));
      }
    }
    if (!WaitUntilAllStopped(deadline)) return false;
    // Every thread we know is stopped and followed its clones, so the process has no other thread
    // unless one escaped us: a clone that had passed its PTRACE_O_TRACECLONE check before we
    // seized its creator. When the kernel counts exactly the threads we hold (all stopped, so none
    // can have been released behind our back), none did; otherwise /proc/PID/task says which.
    size_t known = threads_.size();
    if (TryCountThreads(pid_) == known) break;
    SeizeNewThreads();
    if (threads_.size() == known) break;
  }
  if (threads_.empty()) throw Error(ErrorCode::kNoSuchProcess, PidText(pid_) + " has exited");
  CaptureStoppedThreads();
  last_boosted_threads_ = boosts.size();
  stopped_ = true;
  last_stop_latency_ = Clock::now() - stop_began_;
  return true;
}

void ProcessAttachment::SetAsideZombieLeader() {
  auto leader = threads_.find(pid_);
  if (leader == threads_.end() || leader->second.stopped) return;
  std::optional<TaskStatus> status = TryReadTaskStatus(pid_, pid_);
  if (status && status->state == 'Z') {
    // Counted as stopped so that nothing waits for it; it runs no code, so it is safe.
    leader->second.zombie_leader = true;
    leader->second.stopped = true;
  }
}

void ProcessAttachment::CaptureStoppedThreads() {
  stopped_threads_.clear();
  for (auto it = threads_.begin(); it != threads_.end();) {
    if (it->second.zombie_leader) {
      ++it;
      continue;
    }
    StoppedThread captured;
    captured.tid = it->first;
    if (int err = TryPtraceGetRegisters(captured.tid, captured.regs)) {
      if (err != ESRCH) throw PtraceError("PTRACE_GETREGS", captured.tid, err);
      // SIGKILLed while stopped: reap it.
      WaitForThreadStop(captured.tid);
      it = threads_.erase(it);
      continue;
    }
    stopped_threads_.push_back(std::move(captured));
    ++it;
  }
  if (stopped_threads_.empty()) {
    throw Error(ErrorCode::kNoSuchProcess, PidText(pid_) + " has exited");
  }
}

int ProcessAttachment::SignalToInject(TracedThread& thread) {
  if (thread.held_signals.empty()) return 0;
  size_t first_requeued = 0;
  int signal = 0;
  // Only a signal-delivery-stop takes a signal from PTRACE_CONT / PTRACE_DETACH; the kernel
  // ignores it in other stops. PTRACE_SETSIGINFO gives the handler the sender's siginfo even when
  // the stop is now another one (the single-step SIGTRAP of a remote system call).
  if (thread.stop_kind == StopKind::kSignalDelivery) {
    try {
      PtraceSetSignalInfo(thread.tid, thread.held_signals.front());
      signal = thread.held_signals.front().si_signo;
      first_requeued = 1;
    } catch (const Error&) {
      // Requeue it with the others below.
    }
  }
  for (size_t i = first_requeued; i < thread.held_signals.size(); ++i) {
    RequeueSignal(pid_, thread.tid, thread.held_signals[i]);
  }
  thread.held_signals.clear();
  return signal;
}

void ProcessAttachment::ResumeAll() {
  CheckTracerThread("ResumeAll");
  if (!stopped_) return;
  std::optional<Error> first_error = ResumeStoppedThreads();
  last_pause_ = Clock::now() - stop_began_;
  stopped_ = false;
  stopped_threads_.clear();
  if (first_error) throw *first_error;
}

std::optional<Error> ProcessAttachment::ResumeStoppedThreads() {
  // Resume every thread even if one fails: leaving the others stopped is the worse outcome.
  std::optional<Error> first_error;
  for (auto& [tid, thread] : threads_) {
    if (thread.zombie_leader || !thread.stopped) continue;
    int err;
    const char* request;
    if (thread.group_stopped && thread.stop_kind == StopKind::kGroupStop) {
      SignalToInject(thread);  // requeues: a group-stop takes no signal
      err = TryPtraceListen(tid);
      request = "PTRACE_LISTEN";
    } else {
      err = TryPtraceContinue(tid, SignalToInject(thread));
      request = "PTRACE_CONT";
    }
    thread.stopped = false;
    if (err != 0 && err != ESRCH && !first_error) first_error = PtraceError(request, tid, err);
  }
  return first_error;
}

bool ProcessAttachment::LeaveToTracerThreadExit() {
  CheckTracerThread("LeaveToTracerThreadExit");
  if (stopped_) return false;
  for (const auto& [tid, thread] : threads_)
    if (thread.step_trap_possible || !thread.held_signals.empty()) return false;
  left_to_tracer_exit_ = true;
  threads_.clear();
  stopped_threads_.clear();
  return true;
}

void ProcessAttachment::RunFor(std::chrono::microseconds duration) {
  CheckTracerThread("RunFor");
  auto deadline = Clock::now() + duration;
  if (stopped_) {
    std::this_thread::sleep_until(deadline);
    return;
  }
  // Polling, because waits must name a tid (waitpid(-1) could reap our other children) and a
  // SIGCHLD handler is not a library's to install.
  std::chrono::microseconds pause(20);
  for (;;) {
    ServicePendingStops(Mode::kRunning);
    auto now = Clock::now();
    if (now >= deadline) return;
    std::this_thread::sleep_for(std::min<Clock::duration>(pause, deadline - now));
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
}

const std::vector<StoppedThread>& ProcessAttachment::threads() const {
  if (!stopped_) {
    throw Error(ErrorCode::kInternal, "threads() of " + PidText(pid_) + " while it runs");
  }
  return stopped_threads_;
}

ProcessAttachment::TracedThread& ProcessAttachment::StoppedThreadRecord(pid_t tid,
                                                                        const char* operation) {
  CheckTracerThread(operation);
  auto it = threads_.find(tid);
  if (!stopped_ || it == threads_.end() || !it->second.stopped || it->second.zombie_leader) {
    throw Error(ErrorCode::kInternal, std::string(operation) + ": tid " + std::to_string(tid) +
                                          " of " + PidText(pid_) + " is not a stopped thread");
  }
  return it->second;
}

void ProcessAttachment::SetRegisters(pid_t tid, const user_regs_struct& regs) {
  StoppedThreadRecord(tid, "SetRegisters");
  PtraceSetRegisters(tid, regs);
  for (auto& thread : stopped_threads_) {
    if (thread.tid == tid) thread.regs = regs;
  }
}

bool ProcessAttachment::StepThreadUntil(pid_t tid, size_t max_steps,
                                        std::chrono::microseconds time_limit,
                                        const std::function<bool(const user_regs_struct&)>& done) {
  TracedThread& thread = StoppedThreadRecord(tid, "StepThreadUntil");
  auto captured = std::find_if(stopped_threads_.begin(), stopped_threads_.end(),
                               [tid](const StoppedThread& t) { return t.tid == tid; });
  if (thread.group_stopped || captured == stopped_threads_.end()) return false;
  // orig_rax >= 0: stopped inside a system call; leaving the stop would restart it.
  if (static_cast<long long>(captured->regs.orig_rax) >= 0) return false;
  auto deadline = Clock::now() + time_limit;
  for (size_t step = 0; step < max_steps; ++step) {
    if (int err = TryPtraceSingleStep(tid, 0)) {
      if (err == ESRCH) return false;
      throw PtraceError("PTRACE_SINGLESTEP", tid, err);
    }
    // Polled with naps (PollingNaps), never sched_yield, which a real-time tracer spins through.
    std::optional<ThreadStop> stop = WaitForThreadStopUntil(tid, deadline);
    if (!stop) {
      // Blocked (a system call that waits for a thread we hold): take it back. The interrupt
      // wakes an interruptible sleep, not an uninterruptible one, so the wait is bounded too.
      ThrowUnlessGone(TryPtraceInterrupt(tid), "PTRACE_INTERRUPT", tid);
      stop = WaitForThreadStopUntil(tid, Clock::now() + kDefaultStopLimit);
      if (!stop) {
        // It runs on (to us) and reports later; StopAll or RunFor will see it then.
        thread.stopped = false;
        thread.step_trap_possible = true;
        stopped_threads_.erase(captured);
        return false;
      }
    }
    switch (stop->kind) {
      case StopKind::kExited:
      case StopKind::kGone:
        threads_.erase(tid);
        stopped_threads_.erase(captured);
        return false;
      case StopKind::kSignalDelivery: {
        // The step's own trap (kernel SIGTRAP, si_code > 0) is a signal-delivery-stop too;
        // resuming with signal 0 drops it. Any other signal is the target's: hold it.
        thread.stop_kind = StopKind::kSignalDelivery;
        siginfo_t info = PtraceGetSignalInfo(tid);
        if (!(info.si_signo == SIGTRAP && info.si_code > 0)) thread.held_signals.push_back(info);
        break;
      }
      case StopKind::kGroupStop:
      case StopKind::kInterrupt:
        // A jobctl trap (our interrupt above, or a group-stop) is reported before signals are
        // dequeued, so the step's own SIGTRAP may wait in the queue behind it.
        thread.stop_kind = stop->kind;
        thread.group_stopped = stop->kind == StopKind::kGroupStop;
        DiscardQueuedStepTrap(thread);
        if (!threads_.contains(tid)) {
          stopped_threads_.erase(captured);
          return false;
        }
        captured->regs = PtraceGetRegisters(tid);
        return false;
      case StopKind::kClone:
      case StopKind::kOtherEvent:
        // The thread is inside a system call (it stepped into clone or exec); stop stepping, the
        // caller retries later with everything running. The step's trap, if any, comes at the
        // call's exit, and PTRACE_CONT clears the step flag before that (user_disable_single_step).
        thread.stop_kind = stop->kind;
        captured->regs = PtraceGetRegisters(tid);
        if (stop->kind == StopKind::kClone) FollowClone(tid);
        return false;
    }
    captured->regs = PtraceGetRegisters(tid);
    bool finished = done(captured->regs);
    if (finished || Clock::now() >= deadline || step + 1 == max_steps) {
      ParkInJobControlStop(thread);
      return finished;
    }
  }
  return false;
}

void ProcessAttachment::DiscardQueuedStepTrap(TracedThread& thread) {
  pid_t tid = thread.tid;
  bool drained = false;
  // Resumed as it is, the thread would dequeue the trap and die of it (SIGTRAP's default action).
  // Resumed with signal 0 from a jobctl stop, it dequeues synchronous signals first
  // (dequeue_synchronous_signal), so the trap is reported in a signal-delivery-stop before any
  // instruction runs, and leaving that stop with signal 0 discards it.
  while (StepTrapQueued(tid)) {
    if (int err = TryPtraceContinue(tid, 0)) throw PtraceError("PTRACE_CONT", tid, err);
    ThreadStop stop = WaitForThreadStop(tid);
    switch (stop.kind) {
      case StopKind::kSignalDelivery: {
        siginfo_t info = PtraceGetSignalInfo(tid);
        if (!(info.si_signo == SIGTRAP && info.si_code > 0)) thread.held_signals.push_back(info);
        thread.stop_kind = stop.kind;
        drained = true;
        break;
      }
      case StopKind::kInterrupt:
      case StopKind::kGroupStop:
        thread.stop_kind = stop.kind;
        thread.group_stopped = stop.kind == StopKind::kGroupStop;
        break;
      default:
        // Exited (SIGKILL), or an event no user instruction could have caused.
        threads_.erase(tid);
        return;
    }
  }
  if (drained) ParkInJobControlStop(thread);
}

void ProcessAttachment::ParkInJobControlStop(TracedThread& thread) {
  pid_t tid = thread.tid;
  if (int err = TryPtraceInterrupt(tid)) throw PtraceError("PTRACE_INTERRUPT", tid, err);
  if (int err = TryPtraceContinue(tid, 0)) throw PtraceError("PTRACE_CONT", tid, err);
  ThreadStop stop = WaitForThreadStop(tid);
  switch (stop.kind) {
    case StopKind::kInterrupt:
    case StopKind::kGroupStop:
      thread.stop_kind = stop.kind;
      thread.group_stopped = stop.kind == StopKind::kGroupStop;
      break;
    case StopKind::kSignalDelivery:
      // A signal queued before the interrupt could trap: hold it; if we die now the kernel
      // delivers it, which is what it was for.
      thread.held_signals.push_back(PtraceGetSignalInfo(tid));
      thread.stop_kind = stop.kind;
      break;
    default:
      threads_.erase(tid);
      std::erase_if(stopped_threads_, [tid](const StoppedThread& t) { return t.tid == tid; });
      break;
  }
}

RemotePtr ProcessAttachment::syscall_instruction() {
  if (!syscall_instruction_) syscall_instruction_ = FindSyscallInstruction(pid_, *memory_);
  return *syscall_instruction_;
}

void ProcessAttachment::DetachAll() noexcept {
  for (auto& [tid, thread] : threads_) {
    int signal = 0;
    if (thread.stopped && !thread.zombie_leader) {
      try {
        signal = SignalToInject(thread);
      } catch (...) {
      }
    }
    // A group-stopped thread goes back into the group-stop: __ptrace_unlink re-arms it while
    // SIGNAL_STOP_STOPPED is set. A pending interrupt is cleared by the unlink too.
    TryPtraceDetach(tid, signal);
  }
  threads_.clear();
  stopped_threads_.clear();
  stopped_ = false;
}

}  // namespace hotpatch
