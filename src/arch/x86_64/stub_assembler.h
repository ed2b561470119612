// Assembling small code pieces (trampolines, stubs, test functions) for a known tracee address
// with asmjit, for anything beyond the fixed patterns of jump_encoding.h.
#pragma once

#include <asmjit/x86.h>

#include <cstdint>
#include <functional>
#include <vector>

#include "base/remote_ptr.h"

namespace hotpatch::x86_64 {

// Runs `emit` on an x86-64 assembler whose code will live at `base` in the tracee, resolves its
// labels and relative branches for that address, and returns the flattened bytes. A branch to
// an absolute address (a.jmp(uint64_t)) is a rel32 from `base` when it reaches; otherwise asmjit
// makes it `jmp/call *disp(%rip)` through an 8-byte address table appended (8-aligned) after the
// code — the returned bytes include that table. Throws Error(kInternal) with asmjit's message
// when emission fails or a label is used but never bound, Error(kUnsupported) when asmjit finds
// a displacement out of range.
std::vector<uint8_t> AssembleStub(RemotePtr base,
                                  const std::function<void(asmjit::x86::Assembler&)>& emit);

}  // namespace hotpatch::x86_64
