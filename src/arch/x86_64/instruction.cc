#include "arch/x86_64/instruction.h"

#include <Zydis/Zydis.h>

#include <algorithm>

#include "base/error.h"
#include "base/hex.h"

namespace hotpatch::x86_64 {
namespace {

// Decoding only reads the decoder (it is passed const), so one instance serves every thread.
const ZydisDecoder& LongModeDecoder() {
  static const ZydisDecoder decoder = [] {
    ZydisDecoder d;
    ZydisDecoderInit(&d, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
    return d;
  }();
  return decoder;
}

}  // namespace

std::optional<Instruction> TryDecodeInstruction(std::span<const uint8_t> code, RemotePtr address) {
  ZydisDecodedInstruction insn;
  ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
  if (!ZYAN_SUCCESS(
          ZydisDecoderDecodeFull(&LongModeDecoder(), code.data(), code.size(), &insn, operands))) {
    return std::nullopt;
  }

  Instruction out;
  out.address = address;
  out.length = insn.length;
  out.is_endbr64 = insn.mnemonic == ZYDIS_MNEMONIC_ENDBR64;
  out.is_return = insn.mnemonic == ZYDIS_MNEMONIC_RET;
  out.is_call = insn.meta.category == ZYDIS_CATEGORY_CALL;
  // Zydis 4.0 files loop/loope/loopne/jrcxz under COND_BR with the jcc family (checked).
  out.is_conditional = insn.meta.category == ZYDIS_CATEGORY_COND_BR;
  out.is_jump = out.is_conditional || insn.meta.category == ZYDIS_CATEGORY_UNCOND_BR;
  out.is_syscall = insn.mnemonic == ZYDIS_MNEMONIC_SYSCALL;
  out.is_int3 = insn.mnemonic == ZYDIS_MNEMONIC_INT3;
  out.is_nop = insn.mnemonic == ZYDIS_MNEMONIC_NOP;

  for (uint8_t i = 0; i < insn.operand_count; ++i) {
    const ZydisDecodedOperand& op = operands[i];
    if (op.type == ZYDIS_OPERAND_TYPE_MEMORY && op.mem.base == ZYDIS_REGISTER_RIP) {
      out.rip_relative = true;
    }
  }
  if ((out.is_call || out.is_jump) && insn.operand_count_visible > 0) {
    const ZydisDecodedOperand& target = operands[0];
    if (target.type == ZYDIS_OPERAND_TYPE_IMMEDIATE && target.imm.is_relative) {
      ZyanU64 absolute = 0;
      if (ZYAN_SUCCESS(ZydisCalcAbsoluteAddress(&insn, &target, address.value(), &absolute))) {
        out.branch_target = RemotePtr(absolute);
      }
    } else if (target.type == ZYDIS_OPERAND_TYPE_REGISTER ||
               target.type == ZYDIS_OPERAND_TYPE_MEMORY) {
      out.is_indirect_branch = true;
    }
  }
  return out;
}

std::vector<Instruction> DecodeFunction(std::span<const uint8_t> code, RemotePtr address) {
  std::vector<Instruction> instructions;
  size_t offset = 0;
  while (offset < code.size()) {
    RemotePtr at = address + int64_t(offset);
    std::optional<Instruction> insn = TryDecodeInstruction(code.subspan(offset), at);
    if (!insn) {
      size_t shown = std::min<size_t>(code.size() - offset, ZYDIS_MAX_INSTRUCTION_LENGTH);
      throw Error(ErrorCode::kUnsupported, "cannot decode x86-64 instruction at " + at.ToString() +
                                               " (offset " + Hex(offset) + " of the code at " +
                                               address.ToString() + "; bytes " +
                                               HexBytes(code.subspan(offset, shown)) +
                                               (offset + ZYDIS_MAX_INSTRUCTION_LENGTH > code.size()
                                                    ? ", possibly cut off by the end of the code)"
                                                    : ")"));
    }
    offset += insn->length;
    instructions.push_back(*insn);
  }
  return instructions;
}

}  // namespace hotpatch::x86_64
