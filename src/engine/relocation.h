// x86-64 relocations of a patch, applied at apply time once the placement is known. Only what
// GCC and Clang emit for -fPIC/-fPIE code is handled; everything else is refused by name, because a
// silently wrong field in live code is far worse than a patch that does not load.
//
// Formulas use the psABI's names: S symbol value, A addend, P place (address of the field),
// G + GOT the address of the symbol's GOT slot (we keep one slot per symbol, so the two always
// appear together), L the address of the symbol's call stub (our stand-in for a PLT entry).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "engine/patch_image.h"

namespace hotpatch {

// "R_X86_64_PC32"; "R_X86_64_<number>" for types the psABI does not name.
std::string RelocationTypeName(uint32_t type);

// Which relocation, for messages: "relocation R_X86_64_PC32 at .text.foo+0x12 (symbol bar)".
struct RelocationSite {
  uint32_t type = 0;
  std::string_view section;
  uint64_t offset = 0;
  std::string_view symbol;

  std::string Describe() const;
};

// What a relocation needs from the layout besides its symbol's value.
enum class RelocationNeed {
  kNothing,   // computed from S, A and P alone
  kGotSlot,   // an 8-byte GOT slot holding S
  kCallStub,  // a GOT slot plus a stub that jumps through it, for calls that S is too far for
};

// Checks that `site.type` is handled for a symbol of this kind and says what it needs. Throws
// Error(kUnsupported) naming the relocation otherwise; for general- and local-dynamic TLS the
// message says to build the patch with -fPIE.
RelocationNeed ClassifyRelocation(const RelocationSite& site, ResolvedSymbol::Kind symbol_kind);

// Bytes the relocation writes at the place (4 or 8). Only for types ClassifyRelocation accepted.
size_t RelocationFieldSize(uint32_t type);

struct RelocationOperands {
  uint64_t S = 0;                     // symbol value: an address, or a TP offset for thread-locals
  int64_t A = 0;                      // addend
  uint64_t P = 0;                     // place: address of the field in the target
  std::optional<uint64_t> got_slot;   // G + GOT, when the relocation needs a slot
  std::optional<uint64_t> call_stub;  // L, when the relocation needs a stub
};

// S for a thread-local of the target executable (ResolvedSymbol::kTargetTls): its TP-relative
// offset, from its st_value (the offset in the PT_TLS segment) and that segment's header. The
// executable's TLS block is module 1 of the static TLS area; with variant II, glibc
// (_dl_determine_tlsoffset) ends it right below the thread pointer at the smallest offset that is
// aligned to p_align and keeps the p_vaddr misalignment, so the offset is the same in every thread.
int64_t ExecutableTpOffset(uint64_t offset_in_tls_segment, uint64_t tls_vaddr, uint64_t tls_memsz,
                           uint64_t tls_align);

// Computes the value for `site.type` and writes it little-endian into `field` (the bytes at the
// place, at least RelocationFieldSize long). Throws Error(kUnsupported) when the value does not
// fit the field, naming the symbol and the distance.
void ApplyRelocation(const RelocationSite& site, const RelocationOperands& operands,
                     std::span<uint8_t> field);

}  // namespace hotpatch
