#include "unwind/stack_walker.h"

#include "base/error.h"
#include "process/thread_status.h"
#include "unwind/cfa_row_walker.h"
#include "unwind/cfi_address_space.h"

namespace hotpatch {

using unwind::CfiAddressSpace;
using unwind::CodeLocation;
using unwind::WalkContext;

class StackWalker::Unwinder {
 public:
  Unwinder(pid_t pid, const RemoteMemory& memory) : space(pid, memory), row_walker(space) {}
  CfiAddressSpace space;
  unwind::CfaRowWalker row_walker;
  Statistics statistics;
  std::chrono::nanoseconds walk_time_since_forget{0};
};

namespace {

std::string Describe(const Frame& frame, size_t index, const CodeLocation& location) {
  std::string text = "frame " + std::to_string(index) + " pc " + frame.pc.ToString();
  if (location.module != nullptr) text += " in " + location.module->name;
  if (location.cfi_free_rule) text += " in patch code without CFI";
  return text;
}

// The registers a cursor holds for its current frame, for restarting libunwind at a caller we
// found ourselves. Registers libunwind cannot recover keep the values of the frame before.
user_regs_struct CursorRegisters(unw_cursor_t* cursor, const user_regs_struct& before) {
  user_regs_struct regs = before;
  auto get = [&](int reg, unsigned long long* field) {
    unw_word_t value;
    if (unw_get_reg(cursor, reg, &value) == 0) *field = value;
  };
  get(UNW_X86_64_RBX, &regs.rbx);
  get(UNW_X86_64_RBP, &regs.rbp);
  get(UNW_X86_64_R12, &regs.r12);
  get(UNW_X86_64_R13, &regs.r13);
  get(UNW_X86_64_R14, &regs.r14);
  get(UNW_X86_64_R15, &regs.r15);
  get(UNW_X86_64_RSP, &regs.rsp);
  get(UNW_X86_64_RIP, &regs.rip);
  return regs;
}

class Walk {
 public:
  Walk(CfiAddressSpace& space, pid_t tid, const user_regs_struct& regs) : space_(space) {
    stack_.tid = tid;
    context_.space = &space;
    context_.regs = regs;
  }

  Stack Run() {
    int result = unw_init_remote(&cursor_, space_.handle(), &context_);
    if (result < 0)
      return Unreliable(std::string("libunwind cannot start: ") + unw_strerror(result));
    bool pc_is_return_address = false;
    for (;;) {
      if (stack_.frames.size() >= StackWalker::kMaxFrames)
        return Unreliable("more than " + std::to_string(StackWalker::kMaxFrames) +
                          " frames (a corrupted stack or a loop)");
      unw_word_t pc = 0, sp = 0;
      unw_get_reg(&cursor_, UNW_REG_IP, &pc);
      unw_get_reg(&cursor_, UNW_REG_SP, &sp);
      if (cursor_pc_is_one_early_) pc += 1;
      cursor_pc_is_one_early_ = false;
      Frame frame{RemotePtr(pc), RemotePtr(sp), false, pc_is_return_address};
      size_t index = stack_.frames.size();
      CodeLocation location = space_.LocateVerified(frame.LookupPc().value());
      if (!location.known()) {
        stack_.frames.push_back(frame);
        return Unreliable(Describe(frame, index, location) +
                          " is outside every mapped module and known patch code");
      }
      for (const Frame& seen : stack_.frames)
        if (seen.pc == frame.pc && seen.sp == frame.sp)
          return Unreliable(Describe(frame, index, location) +
                            " repeats an earlier frame (a loop)");
      stack_.frames.push_back(frame);

      if (location.cfi_free_rule) {
        std::string failure = StepOverCfiFreeFrame(*location.cfi_free_rule);
        if (!failure.empty()) return Unreliable(Describe(frame, index, location) + ": " + failure);
        pc_is_return_address = true;
        continue;
      }

      // glibc's clone/clone3 end their FDE just before `syscall` (the child's unwind info would be
      // wrong), so a thread stopped on its way back from clone has no CFI: the parent (rax > 0)
      // pushed nothing, so its return address is at [rsp]; the child (rax == 0) runs on its new,
      // empty stack and has executed no code of the program yet.
      if (index == 0 && (context_.regs.orig_rax == 56 || context_.regs.orig_rax == 435)) {
        uint8_t before[2] = {};
        if (space_.memory().TryReadBytes(frame.pc - 2, before, 2) && before[0] == 0x0f &&
            before[1] == 0x05) {
          if (context_.regs.rax == 0) {
            stack_.reliable = true;
            return std::move(stack_);
          }
          std::string failure = StepOverCfiFreeFrame(CfiFreeRule::kReturnAddressAtSp);
          if (!failure.empty())
            return Unreliable(Describe(frame, index, location) + ": " + failure);
          pc_is_return_address = true;
          continue;
        }
      }
      context_.cfi_missing = false;
      result = unw_step(&cursor_);
      if (context_.cfi_missing)
        return Unreliable(
            Describe(frame, index, location) + " has no CFI for " +
            RemotePtr(context_.cfi_missing_pc).ToString() +
            (location.module->has_cfi ? "" : " (" + location.module->cfi_problem + ")"));
      if (result < 0)
        return Unreliable(Describe(frame, index, location) +
                          ": unwinding failed: " + unw_strerror(result));
      if (result == 0) return EndOfStack(frame, index, location);
      // libunwind 1.6.2 knows a frame is the sigreturn trampoline only once it has stepped out of
      // it (the CIE's "S" augmentation sets the cursor's sigcontext format during the step), so
      // before the step unw_is_signal_frame still describes the frame before.
      bool signal_frame = unw_is_signal_frame(&cursor_) > 0;
      stack_.frames.back().signal_frame = signal_frame;
      pc_is_return_address = !signal_frame;
    }
  }

 private:
  // unw_step returns 0 both for the real end, where CFI marks the return address undefined, and
  // when the return address it read is 0 — what a corrupted or unfinished stack looks like. Only
  // the first is an end; the return-address save location tells them apart.
  Stack EndOfStack(const Frame& frame, size_t index, const CodeLocation& location) {
    unw_save_loc_t where{};
    if (unw_get_save_loc(&cursor_, UNW_X86_64_RIP, &where) == 0 && where.type == UNW_SLT_NONE) {
      stack_.reliable = true;
      return std::move(stack_);
    }
    return Unreliable(Describe(frame, index, location) +
                      " returns to address 0, and its CFI does not mark it the outermost frame");
  }

  // Finds the caller of a frame in CFI-free patch code by its rule and restarts libunwind there.
  // Returns why it failed, or "".
  std::string StepOverCfiFreeFrame(CfiFreeRule rule) {
    user_regs_struct regs = CursorRegisters(&cursor_, context_.regs);
    unwind::FrameRegisters callee{regs.rip, regs.rsp, regs.rbp};
    auto caller = unwind::UnwindCfiFreeFrame(rule, callee, space_.memory());
    if (!caller) return "its frame is not readable";
    if (caller->sp <= callee.sp) return "its caller's stack pointer would not be above it";
    // A restarted cursor takes its first pc as exact, but this one is a return address: after a
    // call to a noreturn function it is the first byte past its function's FDE. Starting at
    // pc - 1, inside the call, selects the same CFI row libunwind uses for any other caller.
    regs.rip = caller->pc - 1;
    regs.rsp = caller->sp;
    regs.rbp = caller->bp;
    context_.regs = regs;
    cursor_pc_is_one_early_ = true;
    int result = unw_init_remote(&cursor_, space_.handle(), &context_);
    if (result < 0) return std::string("libunwind cannot restart: ") + unw_strerror(result);
    return "";
  }

  Stack Unreliable(std::string reason) {
    stack_.reliable = false;
    stack_.unreliable_reason = "thread " + std::to_string(stack_.tid) + ": " + reason;
    return std::move(stack_);
  }

  CfiAddressSpace& space_;
  WalkContext context_;
  unw_cursor_t cursor_;
  bool cursor_pc_is_one_early_ = false;  // see StepOverCfiFreeFrame
  Stack stack_;
};

}  // namespace

StackWalker::StackWalker(pid_t pid, const RemoteMemory& memory)
    : unwinder_(std::make_unique<Unwinder>(pid, memory)) {}

StackWalker::~StackWalker() = default;

Stack StackWalker::Walk(pid_t tid, const user_regs_struct& regs) {
  auto began = std::chrono::steady_clock::now();
  unwinder_->space.EnsureModulesKnown();
  std::optional<Stack> by_rows = unwinder_->row_walker.TryWalk(tid, regs);
  if (by_rows) unwinder_->statistics.walks_by_cfa_rows++;
  Stack stack = by_rows ? std::move(*by_rows) : ::hotpatch::Walk(unwinder_->space, tid, regs).Run();
  unwinder_->walk_time_since_forget += std::chrono::steady_clock::now() - began;
  unwinder_->statistics.walks++;
  unwinder_->statistics.frames += stack.frames.size();
  return stack;
}

Stack StackWalker::WalkWithLibunwind(pid_t tid, const user_regs_struct& regs) {
  unwinder_->space.EnsureModulesKnown();
  return ::hotpatch::Walk(unwinder_->space, tid, regs).Run();
}

std::optional<Stack> StackWalker::TryWalkByCfaRows(pid_t tid, const user_regs_struct& regs) {
  unwinder_->space.EnsureModulesKnown();
  return unwinder_->row_walker.TryWalk(tid, regs);
}

void StackWalker::PrefetchStacks(std::span<const RemotePtr> stack_pointers) {
  auto began = std::chrono::steady_clock::now();
  std::vector<uint64_t> pages;
  for (RemotePtr sp : stack_pointers)
    pages.push_back(sp.value() & ~(unwind::StopMemoryCache::kPageSize - 1));
  unwinder_->space.memory().Prefetch(std::move(pages));
  unwinder_->walk_time_since_forget += std::chrono::steady_clock::now() - began;
}

void StackWalker::ForgetCachedMemory() {
  unwinder_->statistics.pages_read += unwinder_->space.memory().cached_pages();
  unwinder_->space.ForgetCachedMemory();
  unwinder_->row_walker.ForgetRowsOfStop();
  unwinder_->walk_time_since_forget = std::chrono::nanoseconds(0);
}

void StackWalker::LearnModulesWhileRunning() {
  unwinder_->space.LearnModules();
  // Bounded: at hundreds of threads most share their call sites, and this is time the caller
  // waits (not the target) before its stop.
  constexpr auto kLearningBudget = std::chrono::milliseconds(2);
  auto began = std::chrono::steady_clock::now();
  pid_t pid = unwinder_->space.pid();
  std::vector<pid_t> tids;
  try {
    tids = ListThreads(pid);
  } catch (const Error&) {
    // Gone: the stop will say so.
  }
  for (pid_t tid : tids) {
    if (std::chrono::steady_clock::now() - began > kLearningBudget) break;
    if (auto site = TryReadBlockedThreadSite(pid, tid))
      unwinder_->row_walker.LearnRowsWhileRunning(site->pc, site->stack_pointer);
  }
  ForgetCachedMemory();
}

void StackWalker::AddCodeRangeWithoutCfi(RemoteRange range, CfiFreeRule rule) {
  unwinder_->space.AddCfiFreeRange(range, rule);
  unwinder_->row_walker.ForgetRows();
}

void StackWalker::AddCodeRangeWithEhFrameHdr(RemoteRange range, RemotePtr eh_frame_hdr) {
  unwinder_->space.AddEhFrameHdrRange(range, eh_frame_hdr);
  unwinder_->row_walker.ForgetRows();
}

void StackWalker::RemoveCodeRange(RemoteRange range) {
  unwinder_->space.RemoveRange(range);
  unwinder_->row_walker.ForgetRows();
}

StackWalker::Statistics StackWalker::statistics() const {
  Statistics statistics = unwinder_->statistics;
  statistics.pages_read += unwinder_->space.memory().cached_pages();
  statistics.maps_reads = unwinder_->space.maps_reads();
  statistics.cfa_rows_parsed = unwinder_->row_walker.rows_parsed();
  return statistics;
}

std::chrono::nanoseconds StackWalker::walk_time_since_forget() const {
  return unwinder_->walk_time_since_forget;
}

}  // namespace hotpatch
