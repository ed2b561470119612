// Finding every process that carries patches, with no state of the daemon's own: the engine maps
// its registry into each patched target under a fixed name, so /proc/PID/maps tells (design §6,
// "the target holds the truth"). A restarted daemon lists exactly what the previous one did.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hotpatch::daemon {

// Pids whose /proc/PID/maps shows a "hotpatch-registry" mapping, ascending. Processes that vanish
// or cannot be read meanwhile are skipped.
std::vector<pid_t> FindProcessesWithRegistry();

// /proc/PID/comm without the newline; "" when the process is gone.
std::string ProcessCommand(pid_t pid);

}  // namespace hotpatch::daemon
