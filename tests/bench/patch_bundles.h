// Bundles for the benchmarks, made the way a user makes them: cc with the flags hotpatch-gen
// build uses, then `hotpatch-gen pack` against the running target's executable.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hotpatch::bench {

// Compiles tests/bench/patches/<patch>.c and packs it against the executable `target` as patch
// `id`. Returns the bundle's bytes; with `keep_at`, also leaves the bundle file there.
std::vector<uint8_t> BuildPatchBundle(const std::string& patch, const std::string& target,
                                      const std::string& id, const std::string& keep_at = "");

// <build>/patchgen/hotpatch-gen, <build>/daemon/hotpatchd, ...: empty when not built.
std::string BuiltTool(const std::string& relative_path);

}  // namespace hotpatch::bench
