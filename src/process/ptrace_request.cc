#include "process/ptrace_request.h"

#include <sys/ptrace.h>

#include <cerrno>
#include <string>

namespace hotpatch {

namespace {

int TryPtrace(__ptrace_request request, pid_t tid, void* addr, void* data) {
  return ::ptrace(request, tid, addr, data) == -1 ? errno : 0;
}

// The signal travels in ptrace's data argument as an integer.
void* SignalArgument(int signal) {
  return reinterpret_cast<void*>(static_cast<intptr_t>(signal));
}

}  // namespace

Error PtraceError(std::string_view request, pid_t tid, int err) {
  return ErrnoError(std::string(request) + " of tid " + std::to_string(tid), err);
}

int TryPtraceSeize(pid_t tid) {
  return TryPtrace(PTRACE_SEIZE, tid, nullptr,
                   reinterpret_cast<void*>(static_cast<intptr_t>(PTRACE_O_TRACECLONE)));
}

int TryPtraceInterrupt(pid_t tid) {
  return TryPtrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
}

int TryPtraceContinue(pid_t tid, int signal) {
  return TryPtrace(PTRACE_CONT, tid, nullptr, SignalArgument(signal));
}

int TryPtraceListen(pid_t tid) {
  return TryPtrace(PTRACE_LISTEN, tid, nullptr, nullptr);
}

int TryPtraceDetach(pid_t tid, int signal) {
  return TryPtrace(PTRACE_DETACH, tid, nullptr, SignalArgument(signal));
}

int TryPtraceSingleStep(pid_t tid, int signal) {
  return TryPtrace(PTRACE_SINGLESTEP, tid, nullptr, SignalArgument(signal));
}

int TryPtraceGetRegisters(pid_t tid, user_regs_struct& regs) {
  return TryPtrace(PTRACE_GETREGS, tid, nullptr, &regs);
}

user_regs_struct PtraceGetRegisters(pid_t tid) {
  user_regs_struct regs{};
  if (int err = TryPtraceGetRegisters(tid, regs)) {
    throw PtraceError("PTRACE_GETREGS", tid, err);
  }
  return regs;
}

void PtraceSetRegisters(pid_t tid, const user_regs_struct& regs) {
  if (int err = TryPtrace(PTRACE_SETREGS, tid, nullptr, const_cast<user_regs_struct*>(&regs))) {
    throw PtraceError("PTRACE_SETREGS", tid, err);
  }
}

int TryPtraceGetSignalInfo(pid_t tid, siginfo_t& info) {
  return TryPtrace(PTRACE_GETSIGINFO, tid, nullptr, &info);
}

siginfo_t PtraceGetSignalInfo(pid_t tid) {
  siginfo_t info{};
  if (int err = TryPtrace(PTRACE_GETSIGINFO, tid, nullptr, &info)) {
    throw PtraceError("PTRACE_GETSIGINFO", tid, err);
  }
  return info;
}

bool StepTrapQueued(pid_t tid) {
  // The kernel queues at most one SIGTRAP (a standard signal), so a small window suffices to
  // find it among what else the thread has pending.
  constexpr int kPeekCount = 64;
  siginfo_t queued[kPeekCount];
  __ptrace_peeksiginfo_args args{};
  args.off = 0;
  args.flags = 0;  // the thread's private queue: force_sig_fault queues the trap there
  args.nr = kPeekCount;
  long n = ::ptrace(PTRACE_PEEKSIGINFO, tid, &args, queued);
  if (n < 0) throw PtraceError("PTRACE_PEEKSIGINFO", tid, errno);
  for (long i = 0; i < n; ++i) {
    if (queued[i].si_signo == SIGTRAP && queued[i].si_code > 0) return true;
  }
  return false;
}

void PtraceSetSignalInfo(pid_t tid, const siginfo_t& info) {
  if (int err = TryPtrace(PTRACE_SETSIGINFO, tid, nullptr, const_cast<siginfo_t*>(&info))) {
    throw PtraceError("PTRACE_SETSIGINFO", tid, err);
  }
}

unsigned long PtraceGetEventMessage(pid_t tid) {
  unsigned long message = 0;
  if (int err = TryPtrace(PTRACE_GETEVENTMSG, tid, nullptr, &message)) {
    throw PtraceError("PTRACE_GETEVENTMSG", tid, err);
  }
  return message;
}

}  // namespace hotpatch
