// The "bundle_path" way of passing a bundle, for clients that cannot send a descriptor. The
// daemon runs as root: opening a path the caller names would let any caller make it read any
// file (or a FIFO that blocks it). So the file must be one the caller could have handed over.
#pragma once

#include <string>

#include "base/unique_fd.h"
#include "hotpatchd/caller_credentials.h"

namespace hotpatch::daemon {

// Opens `path` without following a symlink in its last component (O_NOFOLLOW) and without
// blocking on a FIFO (O_NONBLOCK), then checks with fstat, on the opened file itself so nothing
// can be swapped in between: a regular file, owned by the caller or root, not writable by
// others. Throws Error(kPermissionDenied) naming the path and the rule that failed.
UniqueFd OpenCallerBundlePath(const std::string& path, const CallerCredentials& caller);

}  // namespace hotpatch::daemon
