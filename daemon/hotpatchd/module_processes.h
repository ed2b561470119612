// Finding the processes a bundle fits: those that map its target module with its build-id. The
// bundle names the module by file name only, so /proc/PID/maps text is a cheap first filter; the
// build-id, read from the module's ELF notes as mapped, decides (design §6, "What is mapped").
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace hotpatch::daemon {

// Every pid in /proc except the daemon's own, unsorted.
std::vector<pid_t> AllPids();

// True when a maps line ends in "/<module>" (or "/<module> (deleted)").
bool MapsMentionModule(const std::string& maps, const std::string& module);

// Pids, ascending, of the processes that map `module` with build-id `build_id_hex`. Processes
// that exit or cannot be read meanwhile are left out (nothing to patch there).
std::vector<pid_t> FindProcessesMappingModule(const std::string& module,
                                              const std::string& build_id_hex);

}  // namespace hotpatch::daemon
