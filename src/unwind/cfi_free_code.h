// Unwinding through code that has no CFI: the parts of patch code its bundle's FDEs do not cover
// (entry gates, call stubs; engine/patch_cfi.h writes CFI for the rest), and all patch code that
// engines recorded before bundles carried CFI. Without a rule, a thread stopped there would make
// every later stack check fail as "unreliable" and no second patch could ever land.
//
// The caller of such code is found by one of two simple rules, chosen by whoever placed the code:
//  - kReturnAddressAtSp: the code never touches the stack (jump stubs, trampolines), so the return
//    address is at [rsp], as at any function's first instruction (psABI: `call` pushed it).
//  - kFramePointer: the code was compiled with -fno-omit-frame-pointer, so past the prologue
//    (`push %rbp; mov %rsp,%rbp`) the return address is at [rbp+8] and the caller's rbp at [rbp].
//    Inside the prologue or at a `ret` (after `leave`/`pop %rbp`) this is false; the rule
//    recognises those instructions by their bytes and falls back to [rsp]-based rules there.
//    Code that uses rbp for anything else is not covered: give it CFI instead.
#pragma once

#include <cstdint>
#include <optional>

#include "base/remote_ptr.h"
#include "unwind/stop_memory_cache.h"

namespace hotpatch {

enum class CfiFreeRule { kReturnAddressAtSp, kFramePointer };

}  // namespace hotpatch

namespace hotpatch::unwind {

// The registers that matter to find a caller: what the callee's frame is, and what the caller
// needs to continue unwinding with CFI (rbp is the CFA register of frame-pointer functions).
struct FrameRegisters {
  uint64_t pc = 0;
  uint64_t sp = 0;
  uint64_t bp = 0;
};

// The caller's registers, or nullopt when the stack words the rule needs are not readable.
std::optional<FrameRegisters> UnwindCfiFreeFrame(CfiFreeRule rule, const FrameRegisters& callee,
                                                 StopMemoryCache& memory);

}  // namespace hotpatch::unwind
