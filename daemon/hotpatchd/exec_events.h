// Exec notifications from the kernel's process events connector (netlink, NETLINK_CONNECTOR,
// CN_IDX_PROC), so that an installed patch reaches a new process without waiting for the next
// /proc scan. Needs CAP_NET_ADMIN and AF_NETLINK; without them (containers, PrivateNetwork
// sandboxes, unprivileged runs) the daemon falls back to polling alone.
#pragma once

#include <string>

#include "base/unique_fd.h"

namespace hotpatch::daemon {

class ExecEvents {
 public:
  // Subscribes; when the kernel refuses, available() is false and why() says why.
  ExecEvents();

  bool available() const { return socket_.valid(); }
  const std::string& why() const { return why_; }
  int fd() const { return socket_.get(); }

  // Reads every pending message without blocking; true if one of them was an exec.
  bool DrainSawExec();

 private:
  UniqueFd socket_;
  std::string why_;
};

}  // namespace hotpatch::daemon
