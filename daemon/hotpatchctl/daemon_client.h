// One exchange with hotpatchd: connect, send the request (with the bundle's descriptor when there
// is one), read the response.
#pragma once

#include <chrono>
#include <string>

#include "proto/messages.h"

namespace hotpatch::ctl {

// Throws Error when the daemon cannot be reached — the message names the socket path and how to
// start the daemon — or when it answers something that is not a valid response.
proto::Response ExchangeWithDaemon(const std::string& socket_path, const proto::Request& request,
                                   int bundle_fd, std::chrono::milliseconds response_timeout);

}  // namespace hotpatch::ctl
