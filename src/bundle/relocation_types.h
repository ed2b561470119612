// The x86-64 relocation types a bundle may carry: those a compiler emits into a relocatable object
// (psABI, "Relocation Types"), each with the width of the field it patches, so that a reader can
// check every relocation lies inside its section before anything applies it.
#pragma once

#include <cstdint>
#include <optional>

namespace hotpatch::bundle {

// Bytes patched by a relocation of `type`, or nullopt for a type that has no place in a bundle
// (dynamic-linker-only types such as R_X86_64_COPY or R_X86_64_RELATIVE, and unknown numbers).
std::optional<uint32_t> RelocationFieldSize(uint32_t type);

}  // namespace hotpatch::bundle
