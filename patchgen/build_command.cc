// placeholder replaced below
#include "command_line.h"
#include "commands.h"
namespace hotpatch::patchgen {
int BuildCommand(const std::vector<std::string>&) {
  throw UsageError("build: not yet");
}
}  // namespace hotpatch::patchgen
