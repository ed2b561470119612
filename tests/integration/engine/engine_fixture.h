// Shared pieces of the engine tests: building a bundle from a patch source the way a user would
// (cc, then `hotpatch-gen pack`), talking to the engine_loop target, and snapshotting its code.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "support/target_process.h"
#include "support/target_stats.h"

namespace hotpatch::test {

// Compiles tests/integration/engine/patches/<name>.c into an object and packs it against
// `target` as patch `id`; returns the bundle's bytes. `extra_flags` go to cc.
std::vector<uint8_t> BuildPatchBundle(const std::string& name, const std::string& target,
                                      const std::string& id, const std::string& extra_flags = "");



// The bytes of every executable mapping of the target's main executable, concatenated.
std::vector<uint8_t> SnapshotCode(pid_t pid, const std::string& executable);

// Runs `command` with /bin/sh; throws with its output when it fails.
std::string RunCommand(const std::string& command);

}  // namespace hotpatch::test
