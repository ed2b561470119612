// The daemon's listening socket: handed over by systemd (socket activation, sd_listen_fds) or
// bound by the daemon itself.
#pragma once

#include <string>

#include "base/unique_fd.h"

namespace hotpatch::daemon {

class ListenSocket {
 public:
  // Takes the socket systemd passed (LISTEN_FDS), else binds `path`. A stale socket file left by
  // a killed daemon is replaced; a path where a daemon still answers is refused (Error(kBusy)),
  // and so is a path that exists but is not a socket.
  static ListenSocket Open(const std::string& path);

  ListenSocket(ListenSocket&&) = default;
  ListenSocket& operator=(ListenSocket&&) = delete;
  // Unlinks the path it bound itself; a socket systemd owns stays for the next activation.
  ~ListenSocket();

  int fd() const { return fd_.get(); }
  bool socket_activated() const { return socket_activated_; }
  const std::string& description() const { return description_; }

 private:
  ListenSocket(UniqueFd fd, bool socket_activated, std::string bound_path, std::string description)
      : fd_(std::move(fd)),
        socket_activated_(socket_activated),
        bound_path_(std::move(bound_path)),
        description_(std::move(description)) {}

  UniqueFd fd_;
  bool socket_activated_ = false;
  std::string bound_path_;
  std::string description_;
};

}  // namespace hotpatch::daemon
