// Crash-consistent flips (design §6 "Crash consistency").
//
// A bundle replaces several functions, but the engine can write only one entry at a time, and a
// SIGKILL of the engine between two writes detaches the target (exit_ptrace) and lets it run. So
// entries never jump straight from old to new code in one step. Each replaced function gets a
// gate in the patch code:
//
//   gate:  80 3d <disp32> 00   cmpb $0, commit_flag(%rip)
//          0f 85 <rel32>       jne  replacement
//          <displaced>         the instructions the entry jump overwrote, relocated,
//          e9 <rel32>          then jmp back into the original function
//
// Apply: (A) point every entry at its gate — with the flag 0 each gate behaves exactly like the
// original; (B) set the one-byte commit flag — every function switches at once; (C) point every
// entry straight at its replacement, which saves the gate's compare on every call. Revert runs
// the same steps backwards. A crash before (B) leaves the target behaving unpatched, after (B)
// fully patched; a fresh engine reads the flag and finishes or undoes the steps.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/remote_ptr.h"

namespace hotpatch {

// Room reserved per gate: 7 + 6 + displaced instructions (at most 4 instructions covering
// 5 bytes, each at most 15 bytes grown by re-encoding) + 5, rounded to a cache line.
inline constexpr size_t kEntryGateSize = 96;
// The commit flag and its padding in front of the gates.
inline constexpr size_t kCommitFlagSize = 16;
// The gate's own instructions before the displaced ones (cmpb, jne): they touch no stack, so a
// thread stopped there has its return address at [rsp], as at the function's first instruction.
inline constexpr size_t kEntryGateCompareSize = 13;

// The bytes of one gate placed at `gate`. `bytes_at_jump_at` are the target's current bytes at
// `jump_at` (at least 20 of them), which the gate displaces.
std::vector<uint8_t> BuildEntryGate(RemotePtr gate, RemotePtr commit_flag, RemotePtr replacement,
                                    RemotePtr jump_at, std::span<const uint8_t> bytes_at_jump_at);

}  // namespace hotpatch
