// Running a system call inside the target (mmap, mprotect, memfd_create, munmap, ...).
//
// A RemoteSyscall borrows one stopped thread: it points the thread at an existing `syscall`
// instruction with the call's registers, single-steps it, reads the result, and on destruction
// restores every register, so the thread's own interrupted system call (it may be blocked in
// read() or futex()) restarts as if nothing happened.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include "base/remote_ptr.h"
#include "process/process_attachment.h"
#include "process/remote_memory.h"

namespace hotpatch {

class RemoteSyscall {
 public:
  // `tid` must be a stopped thread of `attachment`; `syscall_instruction` the address of the bytes
  // 0f 05 in the target (FindSyscallInstruction). Throws kInternal otherwise.
  RemoteSyscall(ProcessAttachment& attachment, pid_t tid, RemotePtr syscall_instruction);
  // Restores the thread's registers and the kind of ptrace-stop it was in. Never throws.
  ~RemoteSyscall();
  RemoteSyscall(const RemoteSyscall&) = delete;
  RemoteSyscall& operator=(const RemoteSyscall&) = delete;

  // The raw result: -errno on failure, as the kernel returns it. Throws kNoSuchProcess if the
  // thread dies meanwhile.
  long Call(long number, long a1 = 0, long a2 = 0, long a3 = 0, long a4 = 0, long a5 = 0,
            long a6 = 0);

 private:
  void RestoreStopKind();

  ProcessAttachment& attachment_;
  pid_t tid_;
  RemotePtr syscall_instruction_;
  user_regs_struct saved_regs_;
  StopKind saved_stop_kind_;
  bool registers_changed_ = false;
};

// The address of a `syscall` instruction (0f 05) in an executable mapping of `pid`: libc's text
// first, then the vDSO, then any executable mapping. Throws kNotFound naming the pid.
RemotePtr FindSyscallInstruction(pid_t pid, const RemoteMemory& memory);

}  // namespace hotpatch
