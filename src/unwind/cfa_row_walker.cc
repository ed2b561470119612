#include "unwind/cfa_row_walker.h"

#include <array>

namespace hotpatch::unwind {

namespace {

// clone and clone3 (syscall numbers on x86-64): glibc ends their FDE before the `syscall`, so a
// thread stopped on its way back from one has no CFI there; the libunwind walk knows that case.
constexpr unsigned long long kSyscallClone = 56;
constexpr unsigned long long kSyscallClone3 = 435;

// A frame's registers in DWARF numbering, and whether each is known (an undefined rule makes a
// register unknown for the frames further out).
struct DwarfRegisters {
  std::array<uint64_t, kDwarfRegisterCount> value{};
  std::array<bool, kDwarfRegisterCount> known{};
};

DwarfRegisters FromStop(const user_regs_struct& regs) {
  DwarfRegisters frame;
  frame.value = {regs.rax, regs.rdx, regs.rcx, regs.rbx, regs.rsi, regs.rdi,
                 regs.rbp, regs.rsp, regs.r8,  regs.r9,  regs.r10, regs.r11,
                 regs.r12, regs.r13, regs.r14, regs.r15, regs.rip};
  frame.known.fill(true);
  return frame;
}

}  // namespace

const CfaRow* CfaRowWalker::RowFor(const CodeModule& module, uint64_t lookup_pc, Mode mode) {
  StopMemoryCache& memory = space_.memory();
  if (lasting_generation_ != memory.lasting_generation()) {
    lasting_rows_.clear();  // the lasting bytes they were read from were read anew
    lasting_generation_ = memory.lasting_generation();
  }
  if (auto found = lasting_rows_.find(lookup_pc); found != lasting_rows_.end())
    return found->second ? &*found->second : nullptr;
  if (auto found = rows_of_stop_.find(lookup_pc); found != rows_of_stop_.end())
    return found->second ? &*found->second : nullptr;
  uint64_t outside_before = memory.reads_outside_lasting();
  std::optional<CfaRow> row;
  if (module.has_cfi) row = FindCfaRow(memory, module.cfi, lookup_pc);
  ++rows_parsed_;
  auto& rows = memory.reads_outside_lasting() == outside_before ? lasting_rows_ : rows_of_stop_;
  // Read while the target runs from memory it may change: of no use to a stop.
  if (mode == Mode::kLearningWhileRunning && &rows == &rows_of_stop_) return nullptr;
  auto kept = rows.emplace(lookup_pc, row).first;
  return kept->second ? &*kept->second : nullptr;
}

void CfaRowWalker::LearnRowsWhileRunning(uint64_t pc, uint64_t sp) {
  auto learn = [&](uint64_t lookup_pc) {
    CodeLocation location = space_.Locate(lookup_pc);
    if (location.module != nullptr && !location.cfi_free_rule)
      RowFor(*location.module, lookup_pc, Mode::kLearningWhileRunning);
  };
  learn(pc);
  // The callers' pcs are the return addresses on the stack. Unwinding to them needs registers the
  // kernel does not show (rbp, for code with frame pointers), so every word of the stack top that
  // points into known code is taken for one: a stale one costs a row nobody asks for, and a row is
  // used in a stop only for a pc a reliable walk reaches there.
  for (uint64_t at = sp; at < sp + kLearningScanBytes; at += sizeof(uint64_t)) {
    std::optional<uint64_t> word = space_.memory().TryReadWord(RemotePtr(at));
    if (!word) break;
    if (*word > 1) learn(*word - 1);  // the call instruction's row, as the walk looks it up
  }
}

std::optional<Stack> CfaRowWalker::TryWalk(pid_t tid, const user_regs_struct& regs) {
  if (regs.orig_rax == kSyscallClone || regs.orig_rax == kSyscallClone3) return std::nullopt;
  Stack stack;
  stack.tid = tid;
  DwarfRegisters frame = FromStop(regs);
  bool pc_is_return_address = false;
  for (;;) {
    if (stack.frames.size() >= StackWalker::kMaxFrames) return std::nullopt;
    Frame current{RemotePtr(frame.value[kDwarfReturnAddress]), RemotePtr(frame.value[kDwarfRsp]),
                  false, pc_is_return_address};
    // A caller's row is the one of its call instruction (pc - 1): after a call to a noreturn
    // function the return address is already past the caller's FDE (as libunwind looks it up).
    uint64_t lookup_pc = current.LookupPc().value();
    CodeLocation location = space_.LocateVerified(lookup_pc);
    if (location.module == nullptr || location.cfi_free_rule) return std::nullopt;
    for (const Frame& seen : stack.frames)
      if (seen.pc == current.pc && seen.sp == current.sp) return std::nullopt;
    stack.frames.push_back(current);

    const CfaRow* row = RowFor(*location.module, lookup_pc, Mode::kStopped);
    if (row == nullptr || !frame.known[row->cfa_register]) return std::nullopt;
    const RegisterRule& return_address = row->registers[kDwarfReturnAddress];
    // psABI §3.6.5: the outermost frame (glibc's _start, the clone3 child's start) marks its
    // return address undefined; that, and only that, is the end of a reliable stack.
    if (return_address.kind == RegisterRule::Kind::kUndefined) {
      stack.reliable = true;
      return stack;
    }
    if (return_address.kind != RegisterRule::Kind::kSavedAtCfa) return std::nullopt;
    // A rule for the stack pointer itself is not what compilers write; the caller's rsp is the CFA.
    if (row->registers[kDwarfRsp].kind != RegisterRule::Kind::kSameValue) return std::nullopt;

    uint64_t cfa = frame.value[row->cfa_register] + static_cast<uint64_t>(row->cfa_offset);
    DwarfRegisters caller = frame;
    for (size_t reg = 0; reg < kDwarfRegisterCount; ++reg) {
      const RegisterRule& rule = row->registers[reg];
      if (rule.kind == RegisterRule::Kind::kUndefined) {
        caller.known[reg] = false;
      } else if (rule.kind == RegisterRule::Kind::kSavedAtCfa) {
        std::optional<uint64_t> saved =
            space_.memory().TryReadWord(RemotePtr(cfa + static_cast<uint64_t>(rule.offset)));
        if (!saved) return std::nullopt;
        caller.value[reg] = *saved;
      }
    }
    caller.value[kDwarfRsp] = cfa;
    // libunwind's x86-64 unw_step also ends a stack whose rbp rule is undefined; a return address
    // of 0 is what a corrupted stack looks like. Both are for libunwind to judge.
    if (!caller.known[kDwarfRbp] || caller.value[kDwarfReturnAddress] == 0) return std::nullopt;
    frame = caller;
    pc_is_return_address = true;
  }
}

}  // namespace hotpatch::unwind
