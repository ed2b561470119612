// Moving the first instructions of a function elsewhere, as a trampoline must: the bytes the
// entry jump overwrites are executed from the patch's gate instead (engine/entry_gate.h) while a
// patch is not yet committed or is being reverted.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/remote_ptr.h"

namespace hotpatch::x86_64 {

struct DisplacedCode {
  std::vector<uint8_t> bytes;  // the relocated instructions, ending with a jump back
  size_t consumed = 0;         // original bytes covered (whole instructions, >= min_length)
};

// Relocates the whole instructions at `from` covering at least `min_length` bytes of `original`
// so they run at `to`, followed by `e9 rel32` back to from + consumed. RIP-relative operands get a
// new disp32; jmp/call/jcc rel8/rel32 are re-encoded as rel32 to the same absolute target.
// Throws Error(kUnsupported) naming the address for what cannot move (loop/jrcxz, a target out of
// rel32 reach, undecodable bytes).
DisplacedCode RelocateDisplacedInstructions(std::span<const uint8_t> original, RemotePtr from,
                                            size_t min_length, RemotePtr to);

}  // namespace hotpatch::x86_64
