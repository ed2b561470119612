// Human-readable listings of tracee code for error messages ("the entry of f looks like this").
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/remote_ptr.h"

namespace hotpatch::x86_64 {

// objdump-like AT&T listing, one line per instruction: "0x401000: f3 0f 1e fa   endbr64".
// Bytes that do not decode are shown as "(bad)" one byte at a time, so a listing never throws.
// Stops after max_instructions lines and then says how many bytes were left out.
std::string Disassemble(std::span<const uint8_t> code, RemotePtr address,
                        size_t max_instructions = 32);

}  // namespace hotpatch::x86_64
