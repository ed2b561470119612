// Remote stack walking for the safety check: may a function be replaced while this thread is
// stopped here? Only a stack walked to its real end answers that; anything else is "unreliable",
// which the engine treats as busy, never as safe.
//
// Most stacks are walked by CfaRowWalker (cfa_row_walker.h): CFI rows read straight from the
// target's .eh_frame, for the common frames, without libunwind's per-frame costs. Every stack it
// declines — signal frames, patch code without CFI, anything unusual — and every unreliable one is
// walked by libunwind-ptrace's DWARF unwinder (CFI from .eh_frame) with our own accessors:
//  - memory comes from a per-stop page cache filled with process_vm_readv (StopMemoryCache), not
//    from one PTRACE_PEEKDATA per word as in _UPT_accessors;
//  - registers come from the user_regs_struct captured at the stop, not PTRACE_PEEKUSER;
//  - CFI is found through each module's .eh_frame_hdr binary-search table read from the tracee's
//    memory (CodeModule), so the vDSO (no file) and files replaced on disk unwind correctly.
//
// Frames and return addresses: frames[0].pc is where the thread is stopped, and so is the pc of
// the frame right after a signal frame (where the interrupted code resumes). Every other pc is a
// return address, the instruction after a `call`; it may be the first byte of the next function
// when the call was the last instruction (a call to a noreturn function). The thread is "in" the
// function containing pc - 1 for those: check `pc_is_return_address` and look up pc - 1.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <chrono>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "base/remote_ptr.h"
#include "process/remote_memory.h"
#include "unwind/cfi_free_code.h"

namespace hotpatch {

struct StoppedThread;  // process/process_attachment.h

struct Frame {
  RemotePtr pc;
  RemotePtr sp;
  // The sigreturn trampoline (__restore_rt) the kernel made the handler return to; the next frame
  // is the code the signal interrupted, with an exact pc.
  bool signal_frame = false;
  // True when pc is a return address: the thread is in the function that contains pc - 1.
  bool pc_is_return_address = false;

  // The address to look up to find the function this frame is in.
  RemotePtr LookupPc() const { return pc_is_return_address ? pc - 1 : pc; }
};

struct Stack {
  pid_t tid = 0;
  std::vector<Frame> frames;  // innermost first; frames[0].pc is the thread's current pc
  // True only when the walk reached the thread's outermost frame: the one whose CFI marks the
  // return address undefined (glibc's _start and the clone3 thread start do, psABI §3.6.5).
  bool reliable = false;
  std::string unreliable_reason;  // empty when reliable
};

class StackWalker {
 public:
  // A walk never has more frames than this; a deeper one is reported as unreliable (it is a loop
  // or a corrupted stack, or a recursion too deep to be worth patching under).
  static constexpr size_t kMaxFrames = 512;

  // One walker per target process, kept for its lifetime: libunwind's CFI cache lives in it.
  StackWalker(pid_t pid, const RemoteMemory& memory);
  ~StackWalker();
  StackWalker(const StackWalker&) = delete;
  StackWalker& operator=(const StackWalker&) = delete;

  // Walks the stack of thread `tid`, which must be ptrace-stopped with registers `regs`. Never
  // throws for a bad stack (that is an unreliable Stack); throws kNoSuchProcess if the process is
  // gone when its maps are read.
  Stack Walk(pid_t tid, const user_regs_struct& regs);
  // The two unwinders Walk chooses from, each on its own (tests compare them, the benchmark times
  // them): libunwind always, and the row walker, nullopt where it declines.
  Stack WalkWithLibunwind(pid_t tid, const user_regs_struct& regs);
  std::optional<Stack> TryWalkByCfaRows(pid_t tid, const user_regs_struct& regs);

  // Walks every one of these stopped threads (Walk), stacks in the same order. The stack tops
  // come in first, in one system call for many threads. With many threads
  // (kThreadsWorthASecondCore) and a second CPU, both cores walk: a thread of the walker's own
  // takes claims of threads too, with a second unwinder (its own caches), while the target is
  // stopped and would otherwise leave that core idle (issue 6). Whichever core is free claims the
  // next threads, so a second core that is slow to wake up delays nothing.
  std::vector<Stack> WalkAll(std::span<const StoppedThread> threads);
  static constexpr size_t kThreadsWorthASecondCore = 32;

  // Call after every resume of the target: its stacks changed and modules may have been loaded or
  // unloaded. The CFI cache is kept as long as the same modules are mapped at the same addresses.
  void ForgetCachedMemory();
  // Finds the target's modules (ELF headers, CFI tables, and the read-only pages the CFI is in)
  // while it runs, before the stop: inside the stop the walker then only confirms, one
  // PROCMAP_QUERY per mapping a frame is in, that the code it learned is still mapped there, and
  // reads /proc/PID/maps again only when it is not (or on a kernel without the query).
  // It also parses the CFI rows of the threads blocked in the kernel (most threads of a VM
  // process: device threads waiting, vCPUs in KVM_RUN), from the stack pointer and pc
  // /proc/PID/task/TID/syscall shows: a stop then finds their rows parsed (CfaRowWalker).
  void LearnModulesWhileRunning();

  // Code without CFI that a thread may be in: patch code placed by an earlier bundle. Frames
  // inside it are unwound by `rule` (see cfi_free_code.h). Ranges must not overlap modules' code
  // they do not replace; they take precedence over module CFI.
  void AddCodeRangeWithoutCfi(RemoteRange range, CfiFreeRule rule);
  // Code whose CFI the engine wrote into the tracee: an .eh_frame_hdr with a binary-search table
  // (DW_EH_PE_datarel | DW_EH_PE_sdata4 entries relative to the section) and the .eh_frame it
  // points to. This is the exact alternative to a rule.
  void AddCodeRangeWithEhFrameHdr(RemoteRange range, RemotePtr eh_frame_hdr);
  // Forgets a range added above (after a revert unmapped or reused it).
  void RemoveCodeRange(RemoteRange range);

  // Walk statistics since construction, for benchmarks.
  struct Statistics {
    uint64_t walks = 0;
    uint64_t walks_by_cfa_rows = 0;  // of `walks`, those the row walker answered
    uint64_t frames = 0;
    uint64_t pages_read = 0;
    uint64_t maps_reads = 0;            // of /proc/PID/maps, whole
    uint64_t cfa_rows_parsed = 0;       // by the row walker, while running and in stops
    uint64_t walks_on_second_core = 0;  // of `walks`, by WalkAll's second core
  };
  Statistics statistics() const;
  // Time spent in Walk() and WalkAll() since the last ForgetCachedMemory(): the unwinding of the
  // current stop (the engine's pause breakdown, issue 6).
  std::chrono::nanoseconds walk_time_since_forget() const;

 private:
  class Unwinder;
  struct SecondCore;

  void StartSecondCore();
  std::vector<Unwinder*> Unwinders() const;  // the first, and the second core's if any

  std::unique_ptr<Unwinder> unwinder_;
  // From the first LearnModulesWhileRunning of a process with many threads, on a machine with two
  // CPUs; it learns the code ranges added before it from the first unwinder.
  std::unique_ptr<SecondCore> second_core_;
};

}  // namespace hotpatch
