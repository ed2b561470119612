#include "arch/x86_64/syscall_site.h"

#include "arch/x86_64/instruction.h"

namespace hotpatch::x86_64 {

std::optional<RemotePtr> FindSyscallInstruction(std::span<const uint8_t> code, RemotePtr address) {
  size_t offset = 0;
  while (offset < code.size()) {
    std::optional<Instruction> insn =
        TryDecodeInstruction(code.subspan(offset), address + int64_t(offset));
    if (!insn) return std::nullopt;
    if (insn->is_syscall) return insn->address;
    offset += insn->length;
  }
  return std::nullopt;
}

}  // namespace hotpatch::x86_64
