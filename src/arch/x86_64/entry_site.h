// Where and whether a function can take the 5-byte entry jump that redirects it to its
// replacement (design §6 "Entry jump").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "base/remote_ptr.h"

namespace hotpatch::x86_64 {

struct EntrySite {
  RemotePtr function;       // the symbol's address
  RemotePtr jump_at;        // where the jmp rel32 goes: after endbr64 when the function has one
  size_t overwrite_length;  // bytes overwritten at jump_at: 5 (jmp rel32) or 2 (jmp rel8)
};

// A part of a function that lies elsewhere (GCC's "foo.cold" split-off for unlikely paths):
// its bytes and its tracee address.
using FunctionPart = std::pair<std::span<const uint8_t>, RemotePtr>;

// Checks that the entry of `function_name` can be overwritten by a jmp rel32 and says where.
// Throws Error(kUnsupported), naming the function, its address and the reason, when
//  - the function is shorter than its endbr64 plus 5 bytes;
//  - a relative branch in the function or in one of `other_parts` targets a byte strictly
//    inside (jump_at, jump_at+5): after the patch that branch would land in the middle of the
//    jmp's displacement (a loop back to the second instruction is the typical case);
//  - the bytes do not decode.
// `function_bytes` may run on over the int3/nop fill that follows the function (FindPadding):
// that fill never executes, so the jump may overwrite it — the way to patch a 1-byte `ret`
// function. The caller must then not also use that fill as a placement.
// The endbr64 stays in place: with IBT enabled an indirect call must still land on one.
// Not checked (cannot be from the bytes alone): indirect jumps through jump tables, and
// branches from other functions into this one.
EntrySite AnalyzeEntry(std::string_view function_name, std::span<const uint8_t> function_bytes,
                       RemotePtr function_address, const std::vector<FunctionPart>& other_parts);

// The fallback for a function AnalyzeEntry refuses (too short, or a branch into bytes 2..4 after
// jump_at): the same rules for a 2-byte `jmp rel8`, which must land within -128..+127 bytes of
// jump_at+2 on a jmp rel32 (or absolute jump) placed in padding (FindPadding, FitsRel8).
EntrySite AnalyzeShortEntry(std::string_view function_name, std::span<const uint8_t> function_bytes,
                            RemotePtr function_address,
                            const std::vector<FunctionPart>& other_parts);

}  // namespace hotpatch::x86_64
