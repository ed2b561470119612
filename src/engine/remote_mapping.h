// New mappings inside the target, made with remote syscalls (design §5, placement 3).
//
// Each is a private mapping of a memfd, so /proc/PID/maps names its owner
// ("/memfd:hotpatch:<id>:code (deleted)"). MAP_PRIVATE, not MAP_SHARED: we fill the code through
// /proc/PID/mem, and the kernel only lets FOLL_FORCE write a non-writable mapping when it is a
// copy-on-write one (check_vma_flags) — so code can be mapped read+exec from the start and never
// needs a writable+executable moment (MDWE and MemoryDenyWriteExecute targets).
#pragma once

#include <optional>
#include <string>

#include "base/remote_ptr.h"

namespace hotpatch {

class ProcessAttachment;

// Maps `size` bytes (rounded up to pages) named `name` with protection `prot` into the stopped
// process. With `window`, the mapping lies entirely inside it (e.g. ±2 GiB of a module so that
// rel32 reaches); throws Error(kUnsupported) when no hole there is large enough.
RemoteRange CreateNamedMapping(ProcessAttachment& process, const std::string& name, uint64_t size,
                               int prot, std::optional<RemoteRange> window = std::nullopt);

// munmap in the stopped process.
void RemoveMapping(ProcessAttachment& process, RemoteRange range);

// The window of addresses from which every point of `range` is reachable with a rel32
// displacement (±2 GiB), clipped to the user address space.
RemoteRange Rel32Window(RemoteRange range);

}  // namespace hotpatch
