// The call frame information a bundle carries for its own code (design §"Reliable stacks": a
// thread inside patch code placed by an earlier bundle must unwind too).
//
// A bundle may have one section named `.eh_frame` (SHT_PROGBITS, flags exactly SHF_ALLOC,
// alignment 8): the compiler's records for the bundle's executable sections and nothing else, in
// the subset the engine reads (docs/bundle-format.md, "Call frame information"):
//   - records are CIEs and FDEs with a 32-bit length (0xffffffff, the 64-bit form, is refused),
//     each inside the section and a multiple of 4 bytes long (GCC pads with DW_CFA_nop), so that
//     every length word and pc_begin field stays 4-aligned; the section ends with a zero length
//     word (the terminator), and only there;
//   - every CIE has version 1 and augmentation "zR" whose one augmentation byte is the FDE pointer
//     encoding DW_EH_PE_pcrel | DW_EH_PE_sdata4 (0x1b): no personality, no LSDA, no signal frame;
//     its code alignment factor is not 0 and its return address register (one byte in version
//     1) is 16, the psABI's DWARF number for the return address (producers rewrite a C++ CIE
//     "zPLR" into this form, see AppendCarriedEhFrame);
//   - every FDE's CIE pointer names a CIE of the section that comes before it (psABI: it is the
//     distance back from the pointer field), pc_range (udata4) follows pc_begin, and its
//     augmentation data (ULEB128 length first) lies inside the record;
//   - every FDE's pc_begin field (the 4 bytes after the CIE pointer) has exactly one relocation,
//     R_X86_64_PC32, naming a symbol defined in an executable section of the bundle, and the
//     code it covers (symbol value + addend, pc_range bytes) lies inside that section and
//     overlaps no other FDE's; no other byte of the section is relocated.
// The engine places the section with the patch's read-only data, relocates it, and writes an
// .eh_frame_hdr for it next to it (engine/patch_cfi.h), so that every later stack
// walk finds the patch code's CFI in the target alone.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "bundle/bundle.h"
#include "elf/elf_file.h"

namespace hotpatch::bundle {

inline constexpr char kEhFrameSectionName[] = ".eh_frame";

// One record of a carried .eh_frame, as offsets into the section.
struct EhFrameRecord {
  uint64_t offset = 0;  // of its length word
  uint64_t size = 0;    // length word included
  bool is_cie = false;
  uint64_t cie_offset = 0;      // FDE: offset of its CIE's length word
  uint64_t pc_begin_field = 0;  // FDE: offset of its pc_begin (pcrel sdata4)
  uint32_t pc_range = 0;        // FDE: bytes of code it covers
};

// Parses a carried .eh_frame's bytes against the rules above (the relocation rule is checked by
// CheckCarriedEhFrame). Throws Error(kBadBundle) naming the record offset and the broken rule.
std::vector<EhFrameRecord> ParseCarriedEhFrame(std::span<const uint8_t> bytes);

// Every rule above, for a bundle's section `section_index` (called by ValidateBundle for the
// section named kEhFrameSectionName). Throws Error(kBadBundle).
void CheckCarriedEhFrame(const Bundle& bundle, size_t section_index);

// For producers (hotpatch-gen pack and diff): the records of `object`'s .eh_frame whose FDEs
// cover a section `carried` maps to a bundle symbol (the symbol that the FDE's pc_begin
// relocation will name; it must stand for the start of that section, as the carried section's
// STT_SECTION symbol does), with the CIEs they use, appended to `out` (set to a section named
// kEhFrameSectionName; its terminator is added by FinishCarriedEhFrame). Each object's CIEs are
// written once, before the first FDE that uses them, and the FDEs' CIE pointers rewritten.
// Several objects may append to one `out`.
//
// Records are rewritten into the subset above, with the object's CFA rules unchanged: a CIE
// whose augmentation is "z" followed by any of 'P' (personality routine), 'L' (LSDA encoding)
// and 'R' (FDE pointer encoding, which must be 0x1b) becomes a "zR" CIE with the same
// alignment factors, return address register and initial instructions; each FDE keeps its
// pc_begin (the only relocation carried), pc_range and instructions, and its augmentation data
// (the LSDA pointer) becomes empty; records are padded with DW_CFA_nop to a multiple of 4
// bytes. So C++ functions with cleanups or `try` (CIE "zPLR", also "zPR", "zLR") are carried
// too. The personality routine and the LSDA, and their relocations (against
// DW.ref.__gxx_personality_v0 and .gcc_except_table), are dropped because only a C++
// exception's unwinder reads them, to decide where to land; the engine only walks stacks, for
// which the CFA rules are all it needs. Exceptions thrown through patch code are a separate
// limitation that carrying them would not lift: the target's own unwinder (libgcc) finds FDEs
// in its loaded modules' PT_GNU_EH_FRAME and registered frames, and never sees the bundle's
// .eh_frame, so an exception that must unwind through (or be caught in) patch code finds no
// FDE there and ends in std::terminate.
//
// FDEs of carried sections that still cannot be carried (a CIE with a signal frame 'S' or
// another augmentation, an FDE pointer encoding other than 0x1b, a CIE version other than 1, a
// relocation other than pc_begin's and the dropped pointers) are skipped: `fdes_skipped` counts
// them, and the engine unwinds the code they cover by its frame-pointer rule
// (unwind/cfi_free_code.h), which is exact only for code built with -fno-omit-frame-pointer. An
// object without .eh_frame adds nothing. Throws Error(kBadRequest) naming the object and record
// for an .eh_frame whose records cannot be walked (a length past the section, a CIE pointer
// naming no CIE).
struct CarriedEhFrameStats {
  size_t fdes_carried = 0;
  size_t fdes_skipped = 0;
};
CarriedEhFrameStats AppendCarriedEhFrame(
    const elf::ElfFile& object,
    const std::function<std::optional<uint32_t>(uint32_t section_index)>& carried,
    BundleSection& out);
// Adds the terminator; returns false (and leaves `out` empty) when no FDE was carried, in which
// case the bundle has no .eh_frame section.
bool FinishCarriedEhFrame(BundleSection& out);

}  // namespace hotpatch::bundle
