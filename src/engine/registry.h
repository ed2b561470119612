// The in-target registry (design §6): every applied patch is recorded inside the target's own
// memory, in a private memfd mapping named "hotpatch-registry" that /proc/PID/maps shows. Any later
// engine, daemon or `hotpatchctl list` recovers the state from the target alone; the state dies
// with the process, as it should.
//
// Layout of the mapping: a RegistryHeader, then two slots. A new version is written into the
// inactive slot, then one small pwrite of the header switches to it — a crash at any point leaves
// one complete version active.
#pragma once

#include <sys/types.h>

#include <optional>
#include <vector>

#include "base/remote_ptr.h"
#include "engine/patch_record.h"

namespace hotpatch {

class ProcessAttachment;
class RemoteMemory;

inline constexpr char kRegistryMappingName[] = "hotpatch-registry";
inline constexpr uint64_t kRegistrySize = 1 << 20;

struct RegistryHeader {
  char magic[8];         // "HPREG\0\0\1"
  uint32_t version;      // 1
  uint32_t active_slot;  // 0 or 1
  uint64_t generation;   // bumped by every commit
  uint64_t length;       // bytes of JSON in the active slot
};
static_assert(sizeof(RegistryHeader) == 32);

class TargetRegistry {
 public:
  // Finds and reads the registry of `pid`; nullopt when no patch was ever applied to it.
  // Throws Error(kInternal) naming the pid when a registry exists but cannot be parsed.
  static std::optional<TargetRegistry> TryOpen(pid_t pid, const RemoteMemory& memory);
  // Opens the registry, creating its mapping with remote syscalls when there is none yet. The
  // process must be stopped.
  static TargetRegistry OpenOrCreate(ProcessAttachment& process);

  const std::vector<PatchRecord>& patches() const { return patches_; }
  RemotePtr location() const { return location_; }

  // Writes `patches` as the new content (inactive slot, then the header switch).
  void Commit(const RemoteMemory& memory, std::vector<PatchRecord> patches);

 private:
  TargetRegistry(RemotePtr location, RegistryHeader header, std::vector<PatchRecord> patches)
      : location_(location), header_(header), patches_(std::move(patches)) {}

  RemotePtr location_;
  RegistryHeader header_;
  std::vector<PatchRecord> patches_;
};

}  // namespace hotpatch
