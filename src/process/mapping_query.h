// One mapping of a tracee looked up by address, without reading all of /proc/PID/maps: the
// PROCMAP_QUERY ioctl on an open /proc/PID/maps (Linux 6.11, include/uapi/linux/fs.h). Reading
// the whole file costs ~45 µs for a small process (the kernel formats every VMA and its path);
// one query costs ~1.5 µs. The unwinder uses it inside a stop to confirm that the code a frame is
// in is still the mapping it learned while the target ran (unwind/cfi_address_space.h).
//
// Debian 12's kernel headers (6.1) predate the ioctl, so its ABI is declared here; on an older
// kernel the ioctl fails with ENOTTY and `supported()` turns false, and callers read the maps.
#pragma once

#include <sys/types.h>

#include <optional>

#include "base/remote_ptr.h"
#include "base/unique_fd.h"
#include "process/maps.h"

namespace hotpatch {

class MappingQuery {
 public:
  // Opens /proc/PID/maps; throws kNoSuchProcess when the process is gone.
  explicit MappingQuery(pid_t pid);

  // False once the kernel has refused the ioctl as unknown.
  bool supported() const { return supported_; }
  // The mapping containing `address` (range, permissions, offset, device, inode — not the path),
  // or nullopt when no mapping contains it, the process is gone, or queries are unsupported.
  std::optional<Mapping> TryFind(RemotePtr address);

 private:
  UniqueFd maps_;
  bool supported_ = true;
};

}  // namespace hotpatch
