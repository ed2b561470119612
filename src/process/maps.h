// The address space of a process as /proc/PID/maps describes it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/remote_ptr.h"
#include "base/unique_fd.h"

namespace hotpatch {

// One line of /proc/PID/maps.
struct Mapping {
  RemoteRange range;
  bool readable = false, writable = false, executable = false;
  bool shared = false;  // 's' (MAP_SHARED) rather than 'p' (private, copy-on-write)
  uint64_t offset = 0;  // file offset of range.begin
  std::string device;   // "major:minor" in hex, as the kernel prints it
  uint64_t inode = 0;   // 0 for anonymous mappings
  // The file path, or a pseudo name ("[vdso]", "[stack]", "[anon:NAME]"), or "" for anonymous.
  // Without the " (deleted)" suffix, which sets `deleted` instead.
  std::string path;
  bool deleted = false;
};

// Whether two descriptions are of the same mapping: the same file (device, inode) at the same
// offset, range and permissions. The path is not compared: MappingQuery does not return it.
bool SameMappingIgnoringPath(const Mapping& a, const Mapping& b);

// Opens /proc/PID/maps for reading. Throws kNoSuchProcess naming the pid if it is gone.
UniqueFd OpenMapsFile(pid_t pid);

// Parses /proc/PID/maps. Throws kNoSuchProcess naming the pid if the process is gone (or is a
// zombie, whose address space is already released).
std::vector<Mapping> ReadMappings(pid_t pid);

// Parses the text of a maps file; `source` names it in errors (kInternal: the kernel's format is
// not what we expect).
std::vector<Mapping> ParseMappings(std::string_view text, const std::string& source);

}  // namespace hotpatch
