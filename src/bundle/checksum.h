// The bundle checksum (docs/bundle-format.md, "Checksum"): SHA-256 of the whole file in which the
// contents of .hotpatch.checksum and .hotpatch.signature read as zeros. It is what the signature
// signs and what identifies a bundle in the target's registry.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>

namespace hotpatch::bundle {

using Checksum = std::array<uint8_t, 32>;

// Computes the checksum of a bundle file (not the one stored in it). Checks the ELF skeleton first
// (it needs to locate the two sections): throws Error(kBadBundle) if that is broken or if
// .hotpatch.checksum is missing or not 32 bytes.
Checksum BundleChecksum(std::span<const uint8_t> bytes);

// The checksum stored in the file's .hotpatch.checksum (same checks as BundleChecksum).
Checksum StoredChecksum(std::span<const uint8_t> bytes);

// 64 lowercase hex digits.
std::string ChecksumHex(const Checksum& checksum);

}  // namespace hotpatch::bundle
