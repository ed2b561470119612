#include "arch/x86_64/displaced_instructions.h"

#include <Zydis/Zydis.h>

#include <cstring>

#include "base/error.h"

namespace hotpatch::x86_64 {

namespace {

bool FitsInt32(int64_t v) {
  return v >= INT32_MIN && v <= INT32_MAX;
}

void PutRel32(std::vector<uint8_t>& out, int64_t rel, RemotePtr at) {
  if (!FitsInt32(rel))
    throw Error(ErrorCode::kUnsupported, "displaced instruction from " + at.ToString() +
                                             ": branch target out of rel32 reach");
  int32_t v = static_cast<int32_t>(rel);
  uint8_t b[4];
  std::memcpy(b, &v, 4);
  out.insert(out.end(), b, b + 4);
}

}  // namespace

DisplacedCode RelocateDisplacedInstructions(std::span<const uint8_t> original, RemotePtr from,
                                            size_t min_length, RemotePtr to) {
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  DisplacedCode result;
  while (result.consumed < min_length) {
    RemotePtr at = from + static_cast<int64_t>(result.consumed);
    RemotePtr new_at = to + static_cast<int64_t>(result.bytes.size());
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
    if (!ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, original.data() + result.consumed,
                                             original.size() - result.consumed, &insn, operands)))
      throw Error(ErrorCode::kUnsupported, "cannot decode the instruction at " + at.ToString());
    const uint8_t* raw = original.data() + result.consumed;
    uint64_t next = at.value() + insn.length;

    // Zydis sets IS_RELATIVE for [rip + disp32] memory operands too; only an immediate that is
    // relative makes a branch (those are re-encoded below, rip-relative operands further down).
    if ((insn.attributes & ZYDIS_ATTRIB_IS_RELATIVE) && insn.raw.imm[0].is_relative) {
      // A relative branch: its target is absolute, wherever the instruction runs.
      if (insn.meta.category != ZYDIS_CATEGORY_UNCOND_BR &&
          insn.meta.category != ZYDIS_CATEGORY_COND_BR && insn.meta.category != ZYDIS_CATEGORY_CALL)
        throw Error(ErrorCode::kUnsupported, "relative operand at " + at.ToString() +
                                                 " is not a jmp/jcc/call (e.g. xbegin)");
      uint64_t target = next + insn.raw.imm[0].value.s;
      switch (insn.mnemonic) {
        case ZYDIS_MNEMONIC_JMP:  // e9 rel32: jmp target
          result.bytes.push_back(0xe9);
          PutRel32(result.bytes, int64_t(target - (new_at.value() + 5)), at);
          break;
        case ZYDIS_MNEMONIC_CALL:  // e8 rel32: call target
          result.bytes.push_back(0xe8);
          PutRel32(result.bytes, int64_t(target - (new_at.value() + 5)), at);
          break;
        case ZYDIS_MNEMONIC_LOOP:
        case ZYDIS_MNEMONIC_LOOPE:
        case ZYDIS_MNEMONIC_LOOPNE:
        case ZYDIS_MNEMONIC_JRCXZ:
        case ZYDIS_MNEMONIC_JECXZ:
          throw Error(ErrorCode::kUnsupported,
                      "loop/jrcxz at " + at.ToString() + " cannot be displaced (rel8 only)");
        default: {
          // jcc: the condition is the low nibble of the opcode (70+cc rel8 or 0f 80+cc rel32);
          // re-encode as 0f 80+cc rel32.
          uint8_t cc = insn.raw.imm[0].size == 8 ? raw[insn.raw.prefix_count] & 0x0f
                                                 : raw[insn.raw.prefix_count + 1] & 0x0f;
          result.bytes.push_back(0x0f);
          result.bytes.push_back(static_cast<uint8_t>(0x80 | cc));
          PutRel32(result.bytes, int64_t(target - (new_at.value() + 6)), at);
        }
      }
    } else {
      std::vector<uint8_t> copy(raw, raw + insn.length);
      for (int i = 0; i < insn.operand_count; ++i) {
        const auto& op = operands[i];
        if (op.type == ZYDIS_OPERAND_TYPE_MEMORY && op.mem.base == ZYDIS_REGISTER_RIP) {
          // disp32 is relative to the next instruction; keep the absolute address it names.
          int64_t absolute = int64_t(next) + insn.raw.disp.value;
          int64_t disp = absolute - int64_t(new_at.value() + insn.length);
          if (!FitsInt32(disp))
            throw Error(ErrorCode::kUnsupported, "rip-relative operand at " + at.ToString() +
                                                     " out of reach from " + new_at.ToString());
          int32_t d = static_cast<int32_t>(disp);
          std::memcpy(copy.data() + insn.raw.disp.offset, &d, 4);
        }
      }
      result.bytes.insert(result.bytes.end(), copy.begin(), copy.end());
    }
    result.consumed += insn.length;
  }
  // e9 rel32: jmp back to the first original instruction not displaced.
  RemotePtr back = from + static_cast<int64_t>(result.consumed);
  RemotePtr jmp_at = to + static_cast<int64_t>(result.bytes.size());
  result.bytes.push_back(0xe9);
  PutRel32(result.bytes, back - (jmp_at + 5), from);
  return result;
}

}  // namespace hotpatch::x86_64
