// The one owner of the ptrace attachment of every thread of one process (as in rr, one owner per
// traced task): it seizes them, stops and resumes them all, services their ptrace stops, and
// detaches from them, losing no signal and leaving a SIGSTOPped process stopped.
//
// The tracer is a thread, not a process: the kernel accepts ptrace requests for a tracee only from
// the thread that attached it. Every method must therefore run on the thread that called Seize();
// they check it and throw kInternal otherwise.
//
// While attached and running, any signal or new thread puts a thread in a ptrace-stop until we
// continue it: call RunFor() (the back-off between attempts) rather than sleeping.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/user.h>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/error.h"
#include "process/remote_memory.h"
#include "process/thread_stop.h"

namespace hotpatch {

// Registers only: a thread's name is read (ReadThreadName) where a message needs it, outside the
// stop when possible — one /proc read per thread per stop was a measurable part of the pause.
struct StoppedThread {
  pid_t tid = 0;
  user_regs_struct regs;  // valid while stopped
};

class ProcessAttachment {
 public:
  // PTRACE_SEIZEs every thread (with PTRACE_O_TRACECLONE, never PTRACE_O_EXITKILL); the threads
  // keep running. Rescans /proc/PID/task until no thread is new. Refuses our own process and a
  // process another tracer holds. Throws kNoSuchProcess / kPermissionDenied naming pid and tid;
  // on failure whatever was seized is detached again before throwing.
  static ProcessAttachment Seize(pid_t pid);

  ProcessAttachment(ProcessAttachment&&) noexcept;
  ProcessAttachment& operator=(ProcessAttachment&&) = delete;
  ProcessAttachment(const ProcessAttachment&) = delete;
  ProcessAttachment& operator=(const ProcessAttachment&) = delete;
  // Never throws: stops what runs, re-injects or requeues every signal we hold, detaches every
  // thread. The threads run again, except those of a group-stopped process, which the kernel puts
  // back into the group-stop.
  ~ProcessAttachment();

  // How long StopAll waits by default for the last thread to stop. Generous: with hundreds of
  // CPU-busy threads on two cores, stopping takes a few hundred ms when nothing is boosted.
  static constexpr std::chrono::milliseconds kDefaultStopLimit{1000};

  // Interrupts every thread, then waits for each; follows threads created meanwhile, forgets
  // threads that exit. Captures the registers of each. Throws kNoSuchProcess if the whole
  // process is gone, and kBusy naming each thread (tid, name, state, kernel wait channel) that has
  // not stopped within `limit` — a thread in an uninterruptible or killable sleep (a vfork parent,
  // D state in a file system, a frozen cgroup) traps only when it leaves it. Every thread that did
  // stop then runs again; the others keep our interrupt pending and are let go when they report
  // it (or detached by the kernel when the tracer thread exits: see DetachAll).
  void StopAll(std::chrono::microseconds limit = kDefaultStopLimit);
  // Continues every thread (re-injecting the signal it was about to receive); group-stopped
  // threads get PTRACE_LISTEN, so they stay stopped but keep reporting.
  void ResumeAll();
  // Services ptrace stops (signals to pass on, new threads to let go, group-stops) for this long.
  // Only sleeps while stopped.
  void RunFor(std::chrono::microseconds duration);

  // Leaves every thread, running, to the kernel's detach when this tracer thread exits, instead
  // of the destructor's stop-and-detach: the target is not stopped a second time just to be let
  // go. Only for an attachment whose tracer thread ends right after (RunOnOwnTracerThread, which
  // also waits until the kernel has let the threads go). On that exit, exit_ptrace ->
  // __ptrace_unlink clears every pending trap and wakes each thread from its ptrace-stop: one
  // caught delivering a signal meanwhile gets that signal (its exit_code still holds it), one
  // reporting a clone runs on and so does the clone, a group-stopped one goes back into the
  // group-stop, a zombie thread is released. Returns false and changes nothing while stopped, or
  // when a thread still needs us: a single step's trap we may still owe it (the destructor
  // discards it) or signals we hold.
  bool LeaveToTracerThreadExit();

  // While StopAll waits, raise the threads that have not stopped yet to SCHED_FIFO 1 (see
  // scheduling_boost.h), restoring their exact attributes once all are stopped. Off by default (the
  // engine turns it on unless ApplyOptions::scheduling_boost is false);
  // silently does nothing without CAP_SYS_NICE.
  void set_boost_while_stopping(bool boost) { boost_while_stopping_ = boost; }

  bool stopped() const { return stopped_; }
  pid_t pid() const { return pid_; }
  // Only while stopped; ordered by tid.
  const std::vector<StoppedThread>& threads() const;
  // Writes the registers of a stopped thread (and the copy threads() returns).
  void SetRegisters(pid_t tid, const user_regs_struct& regs);

  // Lets one stopped thread run single instructions while every other thread stays stopped,
  // until `done` accepts its registers (returns true), or `max_steps` or `time_limit` run out.
  // The thread is stopped afterwards either way and threads() shows its new registers. Signals
  // that arrive meanwhile are held and given back at resume, like any others. Refuses (returns
  // false without stepping) a group-stopped thread, and one stopped inside a system call: a step
  // would restart the call, which may block (if a step does block, the time limit interrupts it).
  bool StepThreadUntil(pid_t tid, size_t max_steps, std::chrono::microseconds time_limit,
                       const std::function<bool(const user_regs_struct&)>& done);
  // Opened through the leader, or through another thread if the leader is a zombie (then
  // memory().pid() is that thread's tid).
  RemoteMemory& memory() { return *memory_; }

  // A `syscall` instruction in the target for RemoteSyscall, found once per attachment (libc's
  // text does not move while we hold the process; the search reads /proc/PID/maps and code).
  RemotePtr syscall_instruction();

  // First PTRACE_INTERRUPT issued -> last PTRACE_CONT issued, of the last stop/resume cycle: the
  // time the target was stopped (`pause_us`).
  std::chrono::nanoseconds last_pause() const { return last_pause_; }
  // First PTRACE_INTERRUPT issued -> every thread stopped, of the last StopAll.
  std::chrono::nanoseconds last_stop_latency() const { return last_stop_latency_; }
  // Threads the last StopAll boosted (set_boost_while_stopping).
  size_t last_boosted_threads() const { return last_boosted_threads_; }

 private:
  friend class RemoteSyscall;

  // Our bookkeeping for one traced thread.
  struct TracedThread {
    pid_t tid = 0;
    // We hold it in a ptrace-stop at the boundary to user mode (see ThreadStop).
    bool stopped = false;
    StopKind stop_kind = StopKind::kInterrupt;  // of the stop we hold it in
    // Its last report was a group-stop; we keep it in it (PTRACE_LISTEN) until SIGCONT.
    bool group_stopped = false;
    // Signals it dequeued while we held it, oldest first: we owe them back.
    std::vector<siginfo_t> held_signals;
    // The thread-group leader exited (pthread_exit) while other threads live: the kernel reports
    // its exit only when the whole group is gone, so it can be neither stopped nor waited for.
    bool zombie_leader = false;
    // We single-stepped it and then lost sight of it before it stopped (StepThreadUntil's
    // bounded wait ran out): the step's SIGTRAP may still come, and must not reach the target.
    bool step_trap_possible = false;
  };
  enum class Mode { kRunning, kStopping };

  explicit ProcessAttachment(pid_t pid);

  void CheckTracerThread(const char* operation) const;
  void SetAsideZombieLeader();
  void SeizeNewThreads();
  // Applies one reported stop of `thread` according to what we are doing.
  void HandleStop(TracedThread& thread, const ThreadStop& stop, Mode mode);
  // Polls every running thread until none has anything to report.
  void ServicePendingStops(Mode mode);
  // Polls until every thread is stopped; false at `deadline`.
  bool WaitUntilAllStopped(std::chrono::steady_clock::time_point deadline);
  // StopAll without giving up: false, with the threads that did stop still stopped, at `deadline`.
  bool TryStopAll(std::chrono::steady_clock::time_point deadline);
  // "tid 12 (vcpu0): state D (disk sleep), waiting in wait_for_vfork_done" for each thread not
  // stopped yet.
  std::string DescribeUnstoppedThreads() const;
  // Continues (or PTRACE_LISTENs) every stopped thread; the first error after trying them all.
  std::optional<Error> ResumeStoppedThreads();
  // A new task reported by PTRACE_EVENT_CLONE of `parent`: tracked if it is a thread of ours,
  // let go at once if it is another process (a clone without CLONE_THREAD).
  void FollowClone(pid_t parent);
  // After a jobctl stop reported while a single step of `thread` ran: discards the step's SIGTRAP
  // if it is still queued (see StepTrapQueued) and parks the thread in a jobctl stop again.
  void DiscardQueuedStepTrap(TracedThread& thread);
  void CaptureStoppedThreads();
  // Gives back held signals: the oldest through the stop's own injection when the thread is in a
  // signal-delivery-stop, the others queued again. Returns the signal to pass to CONT/DETACH.
  int SignalToInject(TracedThread& thread);
  void DetachAll() noexcept;
  // Moves a thread out of the SIGTRAP signal-delivery-stop a single step leaves it in, back into
  // a jobctl stop: PTRACE_INTERRUPT, then PTRACE_CONT with signal 0 drops the trap and the thread
  // traps again before it dequeues any signal (get_signal checks jobctl traps first). Needed
  // because if we die, the kernel detaches the thread and delivers the signal of the stop it is
  // in: a leftover SIGTRAP would kill the target. Returns the new stop's kind; forgets a thread
  // that died.
  void ParkInJobControlStop(TracedThread& thread);
  TracedThread& StoppedThreadRecord(pid_t tid, const char* operation);

  pid_t pid_ = 0;
  pid_t tracer_tid_ = 0;
  std::unique_ptr<RemoteMemory> memory_;
  std::map<pid_t, TracedThread> threads_;
  bool stopped_ = false;
  bool left_to_tracer_exit_ = false;  // LeaveToTracerThreadExit: nothing is ours to do any more
  bool boost_while_stopping_ = false;
  std::vector<StoppedThread> stopped_threads_;
  std::chrono::steady_clock::time_point stop_began_;
  std::chrono::nanoseconds last_pause_{0};
  std::chrono::nanoseconds last_stop_latency_{0};
  size_t last_boosted_threads_ = 0;
  std::optional<RemotePtr> syscall_instruction_;
};

}  // namespace hotpatch
