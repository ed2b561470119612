// Every engine call that attaches to a target runs on a thread of its own, which ends with the
// call.
//
// Why: ptrace ties a tracee to the tracer *thread*. A thread the kernel cannot stop (a vfork
// parent in wait_for_vfork_done, a D-state sleep in a file system) cannot be detached either —
// PTRACE_DETACH needs the tracee in a ptrace-stop — and it keeps our PTRACE_INTERRUPT pending, so
// on its way back to user mode it would trap and wait in a ptrace-stop for a tracer that gave up
// on it long ago. When a tracer thread exits, the kernel detaches every tracee it still holds and
// clears their pending traps (exit_ptrace, from exit_notify): a short-lived tracer thread is the
// one way to be sure no thread of the target is left behind, whatever the caller's threads do.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <exception>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace hotpatch {

// Waits until thread `tid` of this process has passed exit_notify (its task is gone or a zombie),
// at most `limit`. std::thread::join returns when the thread's exit cleared its tid
// (mm_release), which comes before exit_notify; only exit_notify detaches its tracees
// (forget_original_parent -> exit_ptrace) and then releases the thread. Until then a target left
// to the tracer's exit (ProcessAttachment::LeaveToTracerThreadExit) still shows it as its tracer,
// and a PTRACE_SEIZE of it would fail with EPERM.
void WaitUntilThreadReleased(pid_t tid, std::chrono::milliseconds limit);

// Lets the polling waits of the stop (ProcessAttachment) sleep for the microseconds they ask for
// instead of the default 50 µs timer slack. Per thread, so it only touches the tracer thread.
void UseFineTimerSlack();

template <class Work>
std::invoke_result_t<Work&> RunOnOwnTracerThread(Work&& work) {
  using Result = std::invoke_result_t<Work&>;
  std::optional<Result> result;
  std::exception_ptr failure;
  pid_t tracer_tid = 0;
  std::thread tracer([&] {
    tracer_tid = ::gettid();
    try {
      UseFineTimerSlack();
      result.emplace(work());
    } catch (...) {
      failure = std::current_exception();
    }
  });
  tracer.join();
  // Our caller may seize the target again at once (a revert right after the apply).
  WaitUntilThreadReleased(tracer_tid, std::chrono::milliseconds(1000));
  if (failure) std::rethrow_exception(failure);
  return std::move(*result);
}

}  // namespace hotpatch
