#include "engine/relocation.h"

#include <elf.h>

#include <cstring>
#include <limits>

#include "base/error.h"
#include "base/hex.h"

namespace hotpatch {
namespace {

std::string SignedHex(int64_t value) {
  if (value >= 0) return Hex(uint64_t(value));
  return "-" + Hex(uint64_t(0) - uint64_t(value));
}

bool FitsSigned32(int64_t value) {
  return value >= std::numeric_limits<int32_t>::min() &&
         value <= std::numeric_limits<int32_t>::max();
}

void WriteLittleEndian32(std::span<uint8_t> field, uint32_t value) {
  // x86-64 is little-endian and so are its ELF fields; the host is the same architecture.
  std::memcpy(field.data(), &value, sizeof value);
}

void WriteLittleEndian64(std::span<uint8_t> field, uint64_t value) {
  std::memcpy(field.data(), &value, sizeof value);
}

[[noreturn]] void ThrowUnsupported(const RelocationSite& site, std::string_view why) {
  throw Error(ErrorCode::kUnsupported, site.Describe() + " is not supported" + std::string(why));
}

// A PC-relative value that does not fit in rel32: the place and its target are more than 2 GiB
// apart, which only a different placement can fix.
[[noreturn]] void ThrowPcRelativeOverflow(const RelocationSite& site, std::string_view formula,
                                          int64_t value, uint64_t target, uint64_t place) {
  throw Error(ErrorCode::kUnsupported,
              site.Describe() + ": " + std::string(formula) + " = " + SignedHex(value) +
                  " does not fit in a signed 32-bit field: " + Hex(target) + " is " +
                  SignedHex(int64_t(target - place)) + " bytes from the place " + Hex(place) +
                  "; the patch must be placed within +-2 GiB of it");
}

void WritePcRelative32(const RelocationSite& site, std::span<uint8_t> field,
                       std::string_view formula, uint64_t target, int64_t A, uint64_t P) {
  // Wrapping unsigned arithmetic, then reinterpreted: user-space addresses are below 2^47, so the
  // true difference always fits in int64.
  int64_t value = int64_t(target + uint64_t(A) - P);
  if (!FitsSigned32(value)) ThrowPcRelativeOverflow(site, formula, value, target, P);
  WriteLittleEndian32(field, uint32_t(value));
}

}  // namespace

std::string RelocationTypeName(uint32_t type) {
  switch (type) {
    case R_X86_64_NONE:
      return "R_X86_64_NONE";
    case R_X86_64_64:
      return "R_X86_64_64";
    case R_X86_64_PC32:
      return "R_X86_64_PC32";
    case R_X86_64_GOT32:
      return "R_X86_64_GOT32";
    case R_X86_64_PLT32:
      return "R_X86_64_PLT32";
    case R_X86_64_COPY:
      return "R_X86_64_COPY";
    case R_X86_64_GLOB_DAT:
      return "R_X86_64_GLOB_DAT";
    case R_X86_64_JUMP_SLOT:
      return "R_X86_64_JUMP_SLOT";
    case R_X86_64_RELATIVE:
      return "R_X86_64_RELATIVE";
    case R_X86_64_GOTPCREL:
      return "R_X86_64_GOTPCREL";
    case R_X86_64_32:
      return "R_X86_64_32";
    case R_X86_64_32S:
      return "R_X86_64_32S";
    case R_X86_64_16:
      return "R_X86_64_16";
    case R_X86_64_PC16:
      return "R_X86_64_PC16";
    case R_X86_64_8:
      return "R_X86_64_8";
    case R_X86_64_PC8:
      return "R_X86_64_PC8";
    case R_X86_64_DTPMOD64:
      return "R_X86_64_DTPMOD64";
    case R_X86_64_DTPOFF64:
      return "R_X86_64_DTPOFF64";
    case R_X86_64_TPOFF64:
      return "R_X86_64_TPOFF64";
    case R_X86_64_TLSGD:
      return "R_X86_64_TLSGD";
    case R_X86_64_TLSLD:
      return "R_X86_64_TLSLD";
    case R_X86_64_DTPOFF32:
      return "R_X86_64_DTPOFF32";
    case R_X86_64_GOTTPOFF:
      return "R_X86_64_GOTTPOFF";
    case R_X86_64_TPOFF32:
      return "R_X86_64_TPOFF32";
    case R_X86_64_PC64:
      return "R_X86_64_PC64";
    case R_X86_64_GOTOFF64:
      return "R_X86_64_GOTOFF64";
    case R_X86_64_GOTPC32:
      return "R_X86_64_GOTPC32";
    case R_X86_64_GOT64:
      return "R_X86_64_GOT64";
    case R_X86_64_GOTPCREL64:
      return "R_X86_64_GOTPCREL64";
    case R_X86_64_GOTPC64:
      return "R_X86_64_GOTPC64";
    case R_X86_64_GOTPLT64:
      return "R_X86_64_GOTPLT64";
    case R_X86_64_PLTOFF64:
      return "R_X86_64_PLTOFF64";
    case R_X86_64_SIZE32:
      return "R_X86_64_SIZE32";
    case R_X86_64_SIZE64:
      return "R_X86_64_SIZE64";
    case R_X86_64_GOTPC32_TLSDESC:
      return "R_X86_64_GOTPC32_TLSDESC";
    case R_X86_64_TLSDESC_CALL:
      return "R_X86_64_TLSDESC_CALL";
    case R_X86_64_TLSDESC:
      return "R_X86_64_TLSDESC";
    case R_X86_64_IRELATIVE:
      return "R_X86_64_IRELATIVE";
    case R_X86_64_RELATIVE64:
      return "R_X86_64_RELATIVE64";
    case R_X86_64_GOTPCRELX:
      return "R_X86_64_GOTPCRELX";
    case R_X86_64_REX_GOTPCRELX:
      return "R_X86_64_REX_GOTPCRELX";
  }
  return "R_X86_64_" + std::to_string(type);
}

std::string RelocationSite::Describe() const {
  return "relocation " + RelocationTypeName(type) + " at " + std::string(section) + "+" +
         Hex(offset) + " (symbol " +
         (symbol.empty() ? std::string("<unnamed>") : std::string(symbol)) + ")";
}

RelocationNeed ClassifyRelocation(const RelocationSite& site, ResolvedSymbol::Kind symbol_kind) {
  const bool thread_local_symbol = symbol_kind == ResolvedSymbol::kTargetTls;
  switch (site.type) {
    case R_X86_64_NONE:
      return RelocationNeed::kNothing;

    case R_X86_64_64:
    case R_X86_64_PC64:
    case R_X86_64_PC32:
    case R_X86_64_32:
    case R_X86_64_32S:
      // A thread-local has no address shared by all threads, only a TP offset.
      if (thread_local_symbol)
        ThrowUnsupported(site, " for a thread-local symbol (it has no fixed address)");
      return RelocationNeed::kNothing;

    case R_X86_64_PLT32:
      if (thread_local_symbol) ThrowUnsupported(site, " for a thread-local symbol");
      // We build no PLT: a call to a patch function goes straight to it. A call into the target
      // or a library may be beyond rel32 reach of wherever the patch lands, so it gets a stub
      // (used only when the direct call does not reach).
      return symbol_kind == ResolvedSymbol::kAbsolute ? RelocationNeed::kCallStub
                                                      : RelocationNeed::kNothing;

    case R_X86_64_GOTPCREL:
    case R_X86_64_GOTPCRELX:
    case R_X86_64_REX_GOTPCRELX:
      if (thread_local_symbol) ThrowUnsupported(site, " for a thread-local symbol");
      return RelocationNeed::kGotSlot;

    case R_X86_64_GOTTPOFF:
    case R_X86_64_TPOFF32:
      // Initial-exec and local-exec TLS only reach the static TLS block, whose offsets are fixed
      // for the executable; a patch cannot add to that block once threads exist, and a library's
      // thread-locals live in dynamically allocated blocks.
      if (!thread_local_symbol)
        ThrowUnsupported(site,
                         ": only thread-locals of the target executable are supported (the patch "
                         "cannot define thread-locals of its own)");
      return site.type == R_X86_64_GOTTPOFF ? RelocationNeed::kGotSlot : RelocationNeed::kNothing;

    case R_X86_64_TLSGD:
    case R_X86_64_TLSLD:
    case R_X86_64_DTPOFF32:
    case R_X86_64_DTPOFF64:
    case R_X86_64_DTPMOD64:
    case R_X86_64_GOTPC32_TLSDESC:
    case R_X86_64_TLSDESC_CALL:
    case R_X86_64_TLSDESC:
      // General- and local-dynamic TLS call __tls_get_addr with a module id that only the dynamic
      // linker could have assigned to the patch.
      ThrowUnsupported(site,
                       ": general/local-dynamic TLS; compile the patch with -fPIE so that "
                       "thread-locals of the executable use initial-exec TLS (R_X86_64_GOTTPOFF)");
  }
  ThrowUnsupported(site, "");
}

size_t RelocationFieldSize(uint32_t type) {
  switch (type) {
    case R_X86_64_NONE:
      return 0;
    case R_X86_64_64:
    case R_X86_64_PC64:
      return 8;
    default:
      return 4;
  }
}

int64_t ExecutableTpOffset(uint64_t offset_in_tls_segment, uint64_t tls_vaddr, uint64_t tls_memsz,
                           uint64_t tls_align) {
  const uint64_t align = tls_align > 1 ? tls_align : 1;
  // glibc: firstbyte = (-l_tls_firstbyte_offset) & (align - 1), l_tls_firstbyte_offset being
  // p_vaddr & (align - 1); offset = roundup(memsz - firstbyte, align) + firstbyte.
  const uint64_t firstbyte = (uint64_t(0) - (tls_vaddr & (align - 1))) & (align - 1);
  const uint64_t block_offset = (tls_memsz - firstbyte + align - 1) / align * align + firstbyte;
  return int64_t(offset_in_tls_segment) - int64_t(block_offset);
}

void ApplyRelocation(const RelocationSite& site, const RelocationOperands& operands,
                     std::span<uint8_t> field) {
  const size_t width = RelocationFieldSize(site.type);
  if (field.size() < width)
    throw Error(ErrorCode::kBadBundle, site.Describe() + ": the " + std::to_string(width) +
                                           "-byte field runs past the end of its section");
  const auto& [S, A, P, got_slot, call_stub] = operands;
  auto require = [&](const std::optional<uint64_t>& address, std::string_view what) {
    if (!address)
      throw Error(ErrorCode::kInternal,
                  site.Describe() + ": no " + std::string(what) + " laid out");
    return *address;
  };

  switch (site.type) {
    case R_X86_64_NONE:
      return;

    case R_X86_64_64:  // word64: S + A
      WriteLittleEndian64(field, S + uint64_t(A));
      return;

    case R_X86_64_PC64:  // word64: S + A - P
      WriteLittleEndian64(field, S + uint64_t(A) - P);
      return;

    case R_X86_64_PC32:  // word32: S + A - P, sign-extended by the CPU
      WritePcRelative32(site, field, "S + A - P", S, A, P);
      return;

    case R_X86_64_PLT32: {  // word32: L + A - P
      // With no PLT, L is S itself when the call reaches it, else our stub for the symbol.
      int64_t direct = int64_t(S + uint64_t(A) - P);
      if (FitsSigned32(direct) || !call_stub) {
        WritePcRelative32(site, field, "S + A - P", S, A, P);
      } else {
        WritePcRelative32(site, field, "L + A - P", *call_stub, A, P);
      }
      return;
    }

    case R_X86_64_GOTPCREL:       // word32: G + GOT + A - P
    case R_X86_64_GOTPCRELX:      // same; the linker may relax `call/jmp *slot(%rip)` — we do not
    case R_X86_64_REX_GOTPCRELX:  // same; the linker may relax `mov slot(%rip)` — we do not
    case R_X86_64_GOTTPOFF:       // word32: G + GOT + A - P, the slot holding S = the TP offset
      WritePcRelative32(site, field, "G + GOT + A - P", require(got_slot, "GOT slot"), A, P);
      return;

    case R_X86_64_32: {  // word32: S + A, zero-extended by the CPU
      uint64_t value = S + uint64_t(A);
      if (value > std::numeric_limits<uint32_t>::max())
        throw Error(ErrorCode::kUnsupported,
                    site.Describe() + ": S + A = " + Hex(value) +
                        " does not fit in an unsigned 32-bit field (the code was built for "
                        "addresses below 4 GiB; build the patch with -fPIC or -fPIE)");
      WriteLittleEndian32(field, uint32_t(value));
      return;
    }

    case R_X86_64_32S: {  // word32: S + A, sign-extended by the CPU
      int64_t value = int64_t(S + uint64_t(A));
      if (!FitsSigned32(value))
        throw Error(ErrorCode::kUnsupported,
                    site.Describe() + ": S + A = " + SignedHex(value) +
                        " does not fit in a signed 32-bit field (the code was built for the top "
                        "or bottom 2 GiB of the address space; build the patch with -fPIC or "
                        "-fPIE)");
      WriteLittleEndian32(field, uint32_t(value));
      return;
    }

    case R_X86_64_TPOFF32: {  // word32: S + A, S being the TP offset (negative, variant II)
      int64_t value = int64_t(S + uint64_t(A));
      if (!FitsSigned32(value))
        throw Error(ErrorCode::kUnsupported, site.Describe() +
                                                 ": TP offset S + A = " + SignedHex(value) +
                                                 " does not fit in a signed 32-bit field");
      WriteLittleEndian32(field, uint32_t(value));
      return;
    }
  }
  ThrowUnsupported(site, "");
}

}  // namespace hotpatch
