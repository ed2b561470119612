// Hex formatting for messages (GCC 12 has no <format>).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace hotpatch {

// "0x1a2b".
std::string Hex(uint64_t value);
// "55 48 89 e5" — bytes as objdump shows them.
std::string HexBytes(std::span<const uint8_t> bytes);

}  // namespace hotpatch
