// Recognises a function that changed only because lines moved above it: __LINE__ (assert,
// logging macros) is an immediate operand, so such a function differs from the original in
// immediates only, all by the same amount, which is also how far its declaration moved.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace hotpatch::patchgen {

// The common difference (patched - original) when the two code blocks decode to the same
// instructions that differ only in immediate operands (or constant displacements, as in
// lea 0x3f1(%rdi)), all by that same non-zero amount.
// `original` and `patched` must already have their relocation fields masked.
std::optional<int64_t> ImmediatesShiftedBy(std::span<const uint8_t> original,
                                           std::span<const uint8_t> patched);

}  // namespace hotpatch::patchgen
