// Reading a bundle from an already open file. The daemon gets the descriptor from its caller
// (SCM_RIGHTS) so that it never opens a caller-named path with its own privileges.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace hotpatch {

// Bundles are a few KiB to a few MiB; anything larger is refused before it is read.
inline constexpr uint64_t kMaxBundleBytes = 256ull * 1024 * 1024;

// Reads the whole regular file behind `fd` (from offset 0, whatever the descriptor's position).
// `what` names it in errors. Throws Error(kBadBundle) for a non-regular or oversized file.
std::vector<uint8_t> ReadBundleFile(int fd, const std::string& what);

}  // namespace hotpatch
