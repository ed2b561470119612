// The ptrace requests the engine issues, one function each, so every caller names what it asks
// and every failure names the request and the tid.
//
// The Try... functions return 0 or the errno, because for them failure is part of normal
// operation: a thread may exit at any moment, and the kernel then answers ESRCH.
// The others throw an Error naming request and tid.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <sys/user.h>

#include <string_view>

#include "base/error.h"

namespace hotpatch {

// PTRACE_SEIZE with PTRACE_O_TRACECLONE: the thread keeps running, and every thread it creates
// is attached to us from its first instruction. Never PTRACE_O_EXITKILL: the daemon dying must
// not kill the target.
int TryPtraceSeize(pid_t tid);
int TryPtraceInterrupt(pid_t tid);
int TryPtraceContinue(pid_t tid, int signal);
// Only valid in a group-stop: the thread stays stopped but reports further events.
int TryPtraceListen(pid_t tid);
int TryPtraceDetach(pid_t tid, int signal);
int TryPtraceSingleStep(pid_t tid, int signal);

int TryPtraceGetRegisters(pid_t tid, user_regs_struct& regs);
user_regs_struct PtraceGetRegisters(pid_t tid);
void PtraceSetRegisters(pid_t tid, const user_regs_struct& regs);
int TryPtraceGetSignalInfo(pid_t tid, siginfo_t& info);
siginfo_t PtraceGetSignalInfo(pid_t tid);
void PtraceSetSignalInfo(pid_t tid, const siginfo_t& info);
// Whether the SIGTRAP of a single step (sent by the kernel: si_code > 0) is queued for `tid`
// but not yet dequeued: a jobctl trap reported first leaves it there (get_signal handles jobctl
// traps before it dequeues signals). PTRACE_PEEKSIGINFO reads the queue without dequeuing.
bool StepTrapQueued(pid_t tid);
// The tid of the new thread at a PTRACE_EVENT_CLONE stop.
unsigned long PtraceGetEventMessage(pid_t tid);

// "PTRACE_CONT of tid 1234: No such process", with the code derived from errno.
Error PtraceError(std::string_view request, pid_t tid, int err);

}  // namespace hotpatch
