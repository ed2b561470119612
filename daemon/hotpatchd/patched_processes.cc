#include "hotpatchd/patched_processes.h"

#include <algorithm>
#include <fstream>

#include "engine/registry.h"
#include "hotpatchd/module_processes.h"

namespace hotpatch::daemon {
namespace {

bool HasRegistryMapping(pid_t pid) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line))
    if (line.find(kRegistryMappingName) != std::string::npos) return true;
  return false;
}

}  // namespace

std::vector<pid_t> FindProcessesWithRegistry() {
  std::vector<pid_t> pids;
  for (pid_t pid : AllPids())
    if (HasRegistryMapping(pid)) pids.push_back(pid);
  std::sort(pids.begin(), pids.end());
  return pids;
}

std::string ProcessCommand(pid_t pid) {
  std::ifstream comm("/proc/" + std::to_string(pid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

}  // namespace hotpatch::daemon
