// Runs the external tools the benchmarks drive (cc, hotpatch-gen, hotpatchctl).
#pragma once

#include <string>

namespace hotpatch::bench {

struct CommandOutcome {
  int exit_code = 0;
  std::string output;  // stdout and stderr together
};

// Runs `command` with /bin/sh; never throws for a failing command.
CommandOutcome TryRunCommand(const std::string& command);
// Same, but throws Error(kInternal) naming the command and its output when it fails.
std::string RunCommand(const std::string& command);

}  // namespace hotpatch::bench
