// Decoding of x86-64 machine code read from a tracee. The bytes are a local copy; every address
// is the tracee address the copy came from, so branch targets come out as tracee addresses.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/remote_ptr.h"

namespace hotpatch::x86_64 {

struct Instruction {
  RemotePtr address;
  uint8_t length = 0;
  bool is_endbr64 = false;
  bool is_return = false;  // near ret / ret imm16
  bool is_call = false;
  bool is_jump = false;  // jmp, jcc, loop*, j*cxz
  bool is_conditional = false;
  std::optional<RemotePtr> branch_target;  // only for relative (direct) calls and jumps
  bool is_indirect_branch = false;         // call/jmp through a register or memory
  bool rip_relative = false;               // has a [rip + disp32] memory operand
  bool is_syscall = false;
  bool is_int3 = false;
  bool is_nop = false;  // any nop form (90, 66 90, 0f 1f /0, with or without prefixes)

  RemotePtr end() const { return address + length; }
};

// Decodes one instruction at the start of `code`; nullopt when the bytes are not a valid
// instruction or the instruction is cut off by the end of `code`.
std::optional<Instruction> TryDecodeInstruction(std::span<const uint8_t> code, RemotePtr address);

// Linear sweep over a whole function body (compilers put no data in .text, so every byte of a
// function from its symbol value to value+size is an instruction). Throws Error(kUnsupported)
// naming the address of the first byte that does not decode.
std::vector<Instruction> DecodeFunction(std::span<const uint8_t> code, RemotePtr address);

}  // namespace hotpatch::x86_64
