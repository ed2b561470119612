// Hex formatting for messages (GCC 12 has no <format>).
#pragma once

#include <cstdint>
#include <span>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hotpatch {

// "0x1a2b".
std::string Hex(uint64_t value);
// "55 48 89 e5" — bytes as objdump shows them.
std::string HexBytes(std::span<const uint8_t> bytes);
// "554889e5" — bytes as build-ids and checksums are written.
std::string HexDigits(std::span<const uint8_t> bytes);
// The inverse of HexDigits; nullopt for odd length or a non-hex character.
std::optional<std::vector<uint8_t>> ParseHexDigits(std::string_view text);

}  // namespace hotpatch
