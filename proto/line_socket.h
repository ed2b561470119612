// Framing of the protocol on a Unix stream socket: a message is one line of JSON ending in '\n';
// a file descriptor (the bundle) may ride along as SCM_RIGHTS ancillary data on the line's bytes.
#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "base/unique_fd.h"

namespace hotpatch::proto {

using Deadline = std::chrono::steady_clock::time_point;

// Sends `line` and a newline; `attached_fd` (when >= 0) travels with the first byte. Throws
// Error(kInternal) when the peer is gone or the deadline passes.
void SendLine(int socket, std::string_view line, Deadline deadline, int attached_fd = -1);

struct ReceivedLine {
  std::string line;  // without the newline
  UniqueFd fd;       // the first descriptor passed with it, if any (others are closed)
};

// Reads one line of at most `max_bytes`. Returns nullopt when the peer closed the connection before
// sending a byte. Throws Error(kBadRequest) for an oversized line or a line cut off by end of file,
// and Error(kInternal) when the deadline passes or `cancel_fd` becomes readable (the daemon's
// shutdown signal) before the line is complete.
std::optional<ReceivedLine> ReceiveLine(int socket, size_t max_bytes, Deadline deadline,
                                        int cancel_fd = -1);

}  // namespace hotpatch::proto
