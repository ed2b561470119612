#include "unwind/stack_walker.h"

#include <sched.h>

#include <atomic>

#include "base/error.h"
#include "base/job_thread.h"
#include "process/process_attachment.h"
#include "process/scheduling_boost.h"
#include "process/thread_status.h"
#include "unwind/cfa_row_walker.h"
#include "unwind/cfi_address_space.h"

namespace hotpatch {

using unwind::CfiAddressSpace;
using unwind::CodeLocation;
using unwind::WalkContext;

namespace {

// Threads a core claims at a time in WalkAll: their stack tops come in with one process_vm_readv.
constexpr size_t kWalksPerClaim = 8;

bool SecondCpuAvailable() {
  cpu_set_t cpus;
  return ::sched_getaffinity(0, sizeof cpus, &cpus) == 0 && CPU_COUNT(&cpus) >= 2;
}

Stack WalkWithLibunwindIn(CfiAddressSpace& space, pid_t tid, const user_regs_struct& regs);

}  // namespace

// One unwinder: the target's modules and CFI, memory caches, the row walker. Used by one thread at
// a time.
class StackWalker::Unwinder {
 public:
  Unwinder(pid_t pid, const RemoteMemory& memory) : space(pid, memory), row_walker(space) {}

  Stack Walk(pid_t tid, const user_regs_struct& regs) {
    space.EnsureModulesKnown();
    std::optional<Stack> by_rows = row_walker.TryWalk(tid, regs);
    if (by_rows) statistics.walks_by_cfa_rows++;
    Stack stack = by_rows ? std::move(*by_rows) : WalkWithLibunwindIn(space, tid, regs);
    statistics.walks++;
    statistics.frames += stack.frames.size();
    return stack;
  }

  // The stack tops of these stopped threads, in as few system calls as their readability allows:
  // most walks then need no other read of the stack.
  void PrefetchStacks(std::span<const StoppedThread> threads) {
    std::vector<uint64_t> pages;
    for (const StoppedThread& thread : threads)
      pages.push_back(thread.regs.rsp & ~(unwind::StopMemoryCache::kPageSize - 1));
    space.memory().Prefetch(std::move(pages));
  }

  // While the target runs: its modules, and the rows of its blocked threads (CfaRowWalker).
  void Learn(const std::vector<BlockedThreadSite>& blocked) {
    space.LearnModules();
    // Bounded like the reading of the sites (LearnModulesWhileRunning), and for the same reason.
    constexpr auto kLearningBudget = std::chrono::milliseconds(2);
    auto began = std::chrono::steady_clock::now();
    for (const BlockedThreadSite& site : blocked) {
      if (std::chrono::steady_clock::now() - began > kLearningBudget) break;
      row_walker.LearnRowsWhileRunning(site.pc, site.stack_pointer);
    }
    ForgetCachedMemory();
  }

  void ForgetCachedMemory() {
    statistics.pages_read += space.memory().cached_pages();
    space.ForgetCachedMemory();
    row_walker.ForgetRowsOfStop();
  }

  CfiAddressSpace space;
  unwind::CfaRowWalker row_walker;
  Statistics statistics;
  std::chrono::nanoseconds walk_time_since_forget{0};
};

// WalkAll's second core: a second unwinder, and the thread that walks with it.
struct StackWalker::SecondCore {
  SecondCore(pid_t pid, const RemoteMemory& memory) : unwinder(pid, memory) {}

  // The thread runs as the caller does: at SCHED_FIFO inside an engine's stop window (a thread of
  // another process must not delay the walks of a stopped target), as a normal thread while
  // learning with the target running (it must not take a core from the target for that). Set
  // before the job is handed over: a real-time thread woken on a CPU held by the caller, itself
  // real-time, is pushed to a free CPU at once (the RT scheduler's push); a normal one waits
  // there until the caller sleeps — after the walks, since the caller walks meanwhile.
  void RunAsCaller() {
    std::optional<SchedulingAttributes> caller = TryReadSchedulingAttributes(0);
    if (!caller || (current && current->policy == caller->policy &&
                    current->priority == caller->priority && current->nice == caller->nice))
      return;
    caller->size = sizeof *caller;
    if (TryWriteSchedulingAttributes(thread.tid(), *caller)) current = caller;
  }

  // WalkAll's job, from the second core's side: it walks only if it starts before the caller
  // has finished (kNotStarted -> kWalking); the caller closes it otherwise (-> kClosed).
  static constexpr int kNotStarted = 0;
  static constexpr int kWalking = 1;
  static constexpr int kClosed = 2;
  std::atomic<int> job_state{kNotStarted};

  Unwinder unwinder;
  std::optional<SchedulingAttributes> current;  // of `thread`, as last set
  JobThread thread;  // last: its destructor joins before the unwinder goes
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

Stack WalkWithLibunwindIn(CfiAddressSpace& space, pid_t tid, const user_regs_struct& regs) {
  return Walk(space, tid, regs).Run();
}

}  // namespace

StackWalker::StackWalker(pid_t pid, const RemoteMemory& memory)
    : unwinder_(std::make_unique<Unwinder>(pid, memory)) {}

StackWalker::~StackWalker() = default;

Stack StackWalker::Walk(pid_t tid, const user_regs_struct& regs) {
  auto began = std::chrono::steady_clock::now();
  Stack stack = unwinder_->Walk(tid, regs);
  unwinder_->walk_time_since_forget += std::chrono::steady_clock::now() - began;
  return stack;
}

std::vector<Stack> StackWalker::WalkAll(std::span<const StoppedThread> threads) {
  auto began = std::chrono::steady_clock::now();
  std::vector<Stack> stacks(threads.size());
  if (!second_core_ || threads.size() < kThreadsWorthASecondCore) {
    unwinder_->PrefetchStacks(threads);
    for (size_t i = 0; i < threads.size(); ++i)
      stacks[i] = unwinder_->Walk(threads[i].tid, threads[i].regs);
  } else {
    std::atomic<size_t> next_claim{0};
    auto walk_claims = [&](Unwinder& unwinder) {
      for (;;) {
        size_t first = next_claim.fetch_add(kWalksPerClaim);
        if (first >= threads.size()) return;
        auto claim = threads.subspan(first, std::min(kWalksPerClaim, threads.size() - first));
        unwinder.PrefetchStacks(claim);
        for (size_t i = 0; i < claim.size(); ++i)
          stacks[first + i] = unwinder.Walk(claim[i].tid, claim[i].regs);
      }
    };
    SecondCore& second = *second_core_;
    second.RunAsCaller();
    second.thread.Wait();  // a job closed before it started may still be on its way out
    uint64_t walks_before = second.unwinder.statistics.walks;
    second.job_state = SecondCore::kNotStarted;
    second.thread.Start([&, core = &second] {
      int not_started = SecondCore::kNotStarted;
      // Too late: the caller walked everything and returned; touch none of its locals.
      if (!core->job_state.compare_exchange_strong(not_started, SecondCore::kWalking)) return;
      walk_claims(core->unwinder);
    });
    // Whether the other core started: if not, it never will for this call (nothing is waited
    // for: a second core that wakes up late must not delay the stop), else its claim is awaited.
    auto close_second_core = [&] {
      int not_started = SecondCore::kNotStarted;
      return !second.job_state.compare_exchange_strong(not_started, SecondCore::kClosed);
    };
    try {
      walk_claims(*unwinder_);
    } catch (...) {
      next_claim = threads.size();  // the other core stops after its claim
      if (close_second_core()) {
        try {
          second.thread.Wait();
        } catch (...) {
          // The first failure is the one reported.
        }
      }
      throw;
    }
    if (close_second_core()) {
      // At most one claim (kWalksPerClaim walks) is left on the other core.
      second.thread.Wait(std::chrono::microseconds(200));
      second.unwinder.statistics.walks_on_second_core +=
          second.unwinder.statistics.walks - walks_before;
    }
  }
  unwinder_->walk_time_since_forget += std::chrono::steady_clock::now() - began;
  return stacks;
}

Stack StackWalker::WalkWithLibunwind(pid_t tid, const user_regs_struct& regs) {
  unwinder_->space.EnsureModulesKnown();
  return WalkWithLibunwindIn(unwinder_->space, tid, regs);
}

std::optional<Stack> StackWalker::TryWalkByCfaRows(pid_t tid, const user_regs_struct& regs) {
  unwinder_->space.EnsureModulesKnown();
  return unwinder_->row_walker.TryWalk(tid, regs);
}

void StackWalker::ForgetCachedMemory() {
  unwinder_->ForgetCachedMemory();
  if (second_core_) second_core_->unwinder.ForgetCachedMemory();
  unwinder_->walk_time_since_forget = std::chrono::nanoseconds(0);
}

std::vector<StackWalker::Unwinder*> StackWalker::Unwinders() const {
  if (!second_core_) return {unwinder_.get()};
  return {unwinder_.get(), &second_core_->unwinder};
}

void StackWalker::StartSecondCore() {
  second_core_ =
      std::make_unique<SecondCore>(unwinder_->space.pid(), unwinder_->space.memory().remote());
  Unwinder& second = second_core_->unwinder;
  for (const auto& added : unwinder_->space.cfi_free_ranges())
    second.space.AddCfiFreeRange(added.range, added.rule);
  for (const auto& added : unwinder_->space.eh_frame_hdr_ranges())
    second.space.AddEhFrameHdrRange(added.range, added.eh_frame_hdr);
}

void StackWalker::LearnModulesWhileRunning() {
  pid_t pid = unwinder_->space.pid();
  std::vector<pid_t> tids;
  try {
    tids = ListThreads(pid);
  } catch (const Error&) {
    // Gone: learning the modules says so.
  }
  // Bounded: at hundreds of threads most share their call sites, and this is time the caller
  // waits (not the target) before its stop.
  constexpr auto kSiteReadingBudget = std::chrono::milliseconds(1);
  auto began = std::chrono::steady_clock::now();
  std::vector<BlockedThreadSite> blocked;
  for (pid_t tid : tids) {
    if (std::chrono::steady_clock::now() - began > kSiteReadingBudget) break;
    if (auto site = TryReadBlockedThreadSite(pid, tid)) blocked.push_back(*site);
  }
  if (!second_core_ && tids.size() >= kThreadsWorthASecondCore && SecondCpuAvailable())
    StartSecondCore();
  if (!second_core_) {
    unwinder_->Learn(blocked);
    return;
  }
  // Both at once: the second unwinder reads the same CFI into its own caches.
  SecondCore& second = *second_core_;
  second.RunAsCaller();
  second.thread.Start([&] { second.unwinder.Learn(blocked); });
  try {
    unwinder_->Learn(blocked);
  } catch (...) {
    try {
      second.thread.Wait();
    } catch (...) {
      // The first failure is the one reported.
    }
    throw;
  }
  second.thread.Wait();
}

void StackWalker::AddCodeRangeWithoutCfi(RemoteRange range, CfiFreeRule rule) {
  for (Unwinder* unwinder : Unwinders()) {
    unwinder->space.AddCfiFreeRange(range, rule);
    unwinder->row_walker.ForgetRows();
  }
}

void StackWalker::AddCodeRangeWithEhFrameHdr(RemoteRange range, RemotePtr eh_frame_hdr) {
  for (Unwinder* unwinder : Unwinders()) {
    unwinder->space.AddEhFrameHdrRange(range, eh_frame_hdr);
    unwinder->row_walker.ForgetRows();
  }
}

void StackWalker::RemoveCodeRange(RemoteRange range) {
  for (Unwinder* unwinder : Unwinders()) {
    unwinder->space.RemoveRange(range);
    unwinder->row_walker.ForgetRows();
  }
}

StackWalker::Statistics StackWalker::statistics() const {
  Statistics total;
  for (Unwinder* unwinder : Unwinders()) {
    const Statistics& own = unwinder->statistics;
    total.walks += own.walks;
    total.walks_by_cfa_rows += own.walks_by_cfa_rows;
    total.frames += own.frames;
    total.pages_read += own.pages_read + unwinder->space.memory().cached_pages();
    total.maps_reads += unwinder->space.maps_reads();
    total.cfa_rows_parsed += unwinder->row_walker.rows_parsed();
    total.walks_on_second_core += own.walks_on_second_core;
  }
  return total;
}

std::chrono::nanoseconds StackWalker::walk_time_since_forget() const {
  return unwinder_->walk_time_since_forget;
}

}  // namespace hotpatch
