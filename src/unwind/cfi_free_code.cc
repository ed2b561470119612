#include "unwind/cfi_free_code.h"

#include <cstring>

namespace hotpatch::unwind {

namespace {

constexpr uint8_t kEndbr64[] = {0xf3, 0x0f, 0x1e, 0xfa};
constexpr uint8_t kPushRbp = 0x55;
constexpr uint8_t kMovRspRbp[] = {0x48, 0x89, 0xe5};
constexpr uint8_t kRet = 0xc3;

bool BytesAt(StopMemoryCache& memory, uint64_t address, const uint8_t* expected, size_t size) {
  uint8_t actual[8];
  return memory.TryReadBytes(RemotePtr(address), actual, size) &&
         std::memcmp(actual, expected, size) == 0;
}

// Return address at [sp + offset]: the caller resumes there with sp just above it.
std::optional<FrameRegisters> ReturnThroughStack(const FrameRegisters& callee, uint64_t offset,
                                                 StopMemoryCache& memory) {
  auto return_address = memory.TryReadWord(RemotePtr(callee.sp + offset));
  if (!return_address) return std::nullopt;
  return FrameRegisters{*return_address, callee.sp + offset + 8, callee.bp};
}

}  // namespace

std::optional<FrameRegisters> UnwindCfiFreeFrame(CfiFreeRule rule, const FrameRegisters& callee,
                                                 StopMemoryCache& memory) {
  if (rule == CfiFreeRule::kReturnAddressAtSp) return ReturnThroughStack(callee, 0, memory);

  // Before `push %rbp` (also behind an endbr64) and at `ret`, rbp still/again is the caller's.
  if (BytesAt(memory, callee.pc, &kPushRbp, 1) || BytesAt(memory, callee.pc, kEndbr64, 4) ||
      BytesAt(memory, callee.pc, &kRet, 1))
    return ReturnThroughStack(callee, 0, memory);
  // Between `push %rbp` and `mov %rsp,%rbp`: the saved rbp is at [sp], the return address above.
  if (BytesAt(memory, callee.pc - 1, &kPushRbp, 1) && BytesAt(memory, callee.pc, kMovRspRbp, 3))
    return ReturnThroughStack(callee, 8, memory);

  auto saved_bp = memory.TryReadWord(RemotePtr(callee.bp));
  auto return_address = memory.TryReadWord(RemotePtr(callee.bp + 8));
  if (!saved_bp || !return_address) return std::nullopt;
  return FrameRegisters{*return_address, callee.bp + 16, *saved_bp};
}

}  // namespace hotpatch::unwind
