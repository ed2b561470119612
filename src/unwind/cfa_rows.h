// One row of a module's call-frame information (DWARF 4 §6.4.1, "Structure of Call Frame
// Information") for one pc: where the caller's stack pointer (the CFA) and the saved registers
// are. Read from the tracee's .eh_frame (LSB "Exception Frames": CIE and FDE records) through the
// module's .eh_frame_hdr search table, for the row walker (row_walk.h).
//
// Only the subset compilers and glibc's assembly emit for ordinary x86-64 functions is read: the
// CFA as a register plus an offset, registers saved at CFA + offset, same-value and undefined
// rules, remember/restore state, DW_CFA_GNU_args_size. Anything else — CFA or register
// expressions, val_offset, a register held in another, DW_CFA_set_loc, a signal-frame ("S") CIE,
// an augmentation or pointer encoding not listed in cfa_rows.cc, 64-bit DWARF records — gives
// nullopt, and the walker leaves that stack to libunwind, which reads all of DWARF.
//
// The target wrote every byte read here (a hostile one may have crafted them): every read is
// bounded, and a record that does not parse is nullopt, never a guess.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

#include "unwind/eh_frame_hdr.h"
#include "unwind/stop_memory_cache.h"

namespace hotpatch::unwind {

// DWARF register numbers on x86-64 (psABI §3.6.2, "DWARF Register Number Mapping"); 16 is the
// return address column.
enum DwarfRegister : uint8_t {
  kDwarfRax = 0,
  kDwarfRdx = 1,
  kDwarfRcx = 2,
  kDwarfRbx = 3,
  kDwarfRsi = 4,
  kDwarfRdi = 5,
  kDwarfRbp = 6,
  kDwarfRsp = 7,
  kDwarfR8 = 8,
  kDwarfR15 = 15,
  kDwarfReturnAddress = 16,
};
// The registers libunwind's x86-64 unwinder keeps too (DWARF_NUM_PRESERVED_REGS): a rule for any
// other column makes it fail, so it makes us decline.
constexpr size_t kDwarfRegisterCount = 17;

struct RegisterRule {
  enum class Kind : uint8_t {
    kSameValue,  // DWARF's default for a column without a rule, and libunwind's
    kUndefined,
    kSavedAtCfa,  // DW_CFA_offset: at CFA + offset
  };
  Kind kind = Kind::kSameValue;
  int64_t offset = 0;

  bool operator==(const RegisterRule&) const = default;
};

struct CfaRow {
  uint8_t cfa_register = kDwarfRsp;  // CFA = value of this register + cfa_offset
  int64_t cfa_offset = 0;
  std::array<RegisterRule, kDwarfRegisterCount> registers{};

  bool operator==(const CfaRow&) const = default;
};

// The row in effect at `pc` (DWARF: the last row whose location is <= pc) of the FDE that the
// binary-search `table` finds for it, if that FDE covers pc and every record involved is in the
// subset above. `pc` is the address to look up: a return address minus one for callers.
std::optional<CfaRow> FindCfaRow(StopMemoryCache& memory, const EhFrameSearchTable& table,
                                 uint64_t pc);

}  // namespace hotpatch::unwind
