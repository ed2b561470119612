#include "hotpatchd/module_processes.h"

#include <dirent.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>

#include "base/error.h"
#include "process/modules.h"

namespace hotpatch::daemon {

std::vector<pid_t> AllPids() {
  std::vector<pid_t> pids;
  std::unique_ptr<DIR, int (*)(DIR*)> proc(opendir("/proc"), closedir);
  if (!proc) return pids;
  pid_t self = getpid();
  while (dirent* entry = readdir(proc.get())) {
    char* end = nullptr;
    long pid = std::strtol(entry->d_name, &end, 10);
    if (*end == '\0' && pid > 0 && pid != self) pids.push_back(static_cast<pid_t>(pid));
  }
  return pids;
}

bool MapsMentionModule(const std::string& maps, const std::string& module) {
  std::string needle = "/" + module;
  for (size_t at = maps.find(needle); at != std::string::npos; at = maps.find(needle, at + 1)) {
    size_t end = at + needle.size();
    if (end == maps.size() || maps[end] == '\n' || maps[end] == ' ') return true;
  }
  return false;
}

std::vector<pid_t> FindProcessesMappingModule(const std::string& module,
                                              const std::string& build_id_hex) {
  std::vector<pid_t> found;
  for (pid_t pid : AllPids()) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
    std::stringstream maps;
    maps << in.rdbuf();
    if (!MapsMentionModule(maps.str(), module)) continue;
    try {
      std::vector<Module> modules = ReadModules(pid);
      if (FindModuleByBuildId(modules, build_id_hex) != nullptr) found.push_back(pid);
    } catch (const Error&) {
      // Exited, or its maps cannot be read: it is not part of the fleet.
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

}  // namespace hotpatch::daemon
