#include "line_constants.h"

#include <Zydis/Zydis.h>

#include <vector>

namespace hotpatch::patchgen {

std::optional<int64_t> ImmediatesShiftedBy(std::span<const uint8_t> original,
                                           std::span<const uint8_t> patched) {
  if (original.size() != patched.size()) return std::nullopt;
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  std::optional<int64_t> delta;
  size_t at = 0;
  while (at < original.size()) {
    ZydisDecodedInstruction a, b;
    ZydisDecodedOperand operands_a[ZYDIS_MAX_OPERAND_COUNT], operands_b[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, original.data() + at, original.size() - at,
                                             &a, operands_a)) ||
        !ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, patched.data() + at, patched.size() - at, &b,
                                             operands_b)) ||
        a.length != b.length || a.mnemonic != b.mnemonic) {
      return std::nullopt;
    }
    // Bytes outside the immediate fields must be equal; inside they may differ by `delta`.
    std::vector<bool> immediate(a.length, false);
    for (int i = 0; i < 2; ++i) {
      if (a.raw.imm[i].size == 0) continue;
      for (uint8_t k = 0; k < a.raw.imm[i].size / 8; ++k) immediate[a.raw.imm[i].offset + k] = true;
      if (a.raw.imm[i].value.s != b.raw.imm[i].value.s) {
        if (a.raw.imm[i].is_relative) return std::nullopt;  // a branch moved: real code change
        const int64_t difference = b.raw.imm[i].value.s - a.raw.imm[i].value.s;
        if (delta && *delta != difference) return std::nullopt;
        delta = difference;
      }
    }
    // lea 0x3f1(%rdi), %eax is how GCC adds a constant: __LINE__ may sit in a displacement.
    if (a.raw.disp.size != 0 && a.raw.disp.value != b.raw.disp.value) {
      if (a.attributes & ZYDIS_ATTRIB_IS_RELATIVE) return std::nullopt;  // rip-relative: layout
      for (uint8_t k = 0; k < a.raw.disp.size / 8; ++k) immediate[a.raw.disp.offset + k] = true;
      const int64_t difference = b.raw.disp.value - a.raw.disp.value;
      if (delta && *delta != difference) return std::nullopt;
      delta = difference;
    }
    for (size_t k = 0; k < a.length; ++k) {
      if (!immediate[k] && original[at + k] != patched[at + k]) return std::nullopt;
    }
    at += a.length;
  }
  return delta;
}

}  // namespace hotpatch::patchgen
