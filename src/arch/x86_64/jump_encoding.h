// The fixed jump patterns the engine writes into a tracee: the 5-byte entry jump, the 2-byte
// short jump (to reach nearby padding from a function too short for 5 bytes) and the 14-byte
// absolute jump for targets beyond rel32 reach.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "base/remote_ptr.h"

namespace hotpatch::x86_64 {

constexpr size_t kJmpRel32Length = 5;
constexpr size_t kJmpRel8Length = 2;
constexpr size_t kAbsoluteJumpLength = 14;

// Whether `to` is reachable by a rel32 displacement counted from the end of the branch
// instruction (the CPU adds the displacement to the address of the *next* instruction).
bool FitsRel32(RemotePtr from_next_instruction, RemotePtr to);
bool FitsRel8(RemotePtr from_next_instruction, RemotePtr to);

// `jmp rel32` placed at `from`. Throws Error(kUnsupported) naming both addresses when `to` is
// beyond ±2 GiB of from+5.
std::array<uint8_t, kJmpRel32Length> EncodeJmpRel32(RemotePtr from, RemotePtr to);

// `jmp rel8` placed at `from`. Throws Error(kUnsupported) when `to` is beyond -128..127 of from+2.
std::array<uint8_t, kJmpRel8Length> EncodeJmpRel8(RemotePtr from, RemotePtr to);

// `jmp *0(%rip)` followed by the 8-byte target: reaches any address, position independent (the
// bytes do not depend on `at`), clobbers no register. 14 bytes.
std::vector<uint8_t> EncodeAbsoluteJump(RemotePtr at, RemotePtr to);

// The destination of one of the jumps above written at `at` — to recognise an entry that an
// earlier patch already redirected, or to check a jump before reverting it. nullopt when `code`
// does not start with e9 rel32, eb rel8 or the 14-byte absolute jump.
std::optional<RemotePtr> JumpPatternTarget(std::span<const uint8_t> code, RemotePtr at);

}  // namespace hotpatch::x86_64
