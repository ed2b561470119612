// Giving back a signal we took from a thread.
//
// A thread reports each signal it dequeues as a signal-delivery-stop; PTRACE_CONT (or
// PTRACE_DETACH) from that very stop re-injects one signal. When we took more than one from the
// same thread (signals arriving while we single-step it for a remote system call), or the thread
// is no longer in a signal-delivery-stop, the others must be queued again, or they are lost.
#pragma once

#include <signal.h>
#include <sys/types.h>

namespace hotpatch {

// Queues `info` to thread `tid` of process `pid` again. rt_tgsigqueueinfo keeps the sender's
// siginfo (sigqueue's value included), but the kernel allows a foreign si_code only when it is
// negative and not SI_TKILL; kill()-style and kernel-generated signals are re-sent with tgkill,
// which keeps the signal but not its siginfo. Returns 0 or the errno (ESRCH: the thread is gone).
int RequeueSignal(pid_t pid, pid_t tid, const siginfo_t& info);

}  // namespace hotpatch
