#include "shell_command.h"

#include <stdio.h>
#include <sys/wait.h>

#include "base/error.h"

namespace hotpatch::bench {

CommandOutcome TryRunCommand(const std::string& command) {
  CommandOutcome outcome;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw ErrnoError("popen " + command);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, pipe)) > 0) outcome.output.append(chunk, n);
  int status = pclose(pipe);
  outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return outcome;
}

std::string RunCommand(const std::string& command) {
  CommandOutcome outcome = TryRunCommand(command);
  if (outcome.exit_code != 0)
    throw Error(ErrorCode::kInternal, "command failed (exit " + std::to_string(outcome.exit_code) +
                                          "): " + command + "\n" + outcome.output);
  return outcome.output;
}

}  // namespace hotpatch::bench
