#include "hotpatchd/listen_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include <cstring>

#include "base/error.h"

namespace hotpatch::daemon {
namespace {

sockaddr_un AddressOf(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    throw Error(ErrorCode::kBadRequest, "socket path too long (max " +
                                            std::to_string(sizeof address.sun_path - 1) +
                                            " bytes): " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  return address;
}

// True when a daemon accepts connections on `path` right now.
bool SomeoneListens(const sockaddr_un& address) {
  UniqueFd probe(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return connect(probe.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0;
}

}  // namespace

ListenSocket ListenSocket::Open(const std::string& path) {
  // unset_environment=1: children (none today) must not believe the sockets are theirs.
  int passed = sd_listen_fds(1);
  if (passed < 0)
    throw Error(ErrorCode::kInternal, "sd_listen_fds: " + std::string(strerror(-passed)));
  if (passed > 1)
    throw Error(ErrorCode::kBadRequest,
                "systemd passed " + std::to_string(passed) + " sockets; hotpatchd expects one");
  if (passed == 1) {
    int fd = SD_LISTEN_FDS_START;
    if (sd_is_socket_unix(fd, SOCK_STREAM, 1, nullptr, 0) <= 0)
      throw Error(ErrorCode::kBadRequest,
                  "the socket systemd passed is not a listening AF_UNIX stream socket");
    // Accepting threads poll; accept itself must never block on a connection reset meanwhile.
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return ListenSocket(UniqueFd(fd), true, "", "socket from systemd (fd 3)");
  }

  sockaddr_un address = AddressOf(path);
  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      throw Error(ErrorCode::kBadRequest, path + " exists and is not a socket; not replacing it");
    if (SomeoneListens(address))
      throw Error(ErrorCode::kBusy, "another hotpatchd already listens on " + path);
    unlink(path.c_str());  // stale: left by a daemon that was killed
  }
  // Started by hand (no systemd RuntimeDirectory), /run/hotpatch may not exist yet.
  auto slash = path.rfind('/');
  if (slash != std::string::npos && slash > 0) {
    std::string directory = path.substr(0, slash);
    if (mkdir(directory.c_str(), 0755) != 0 && errno != EEXIST)
      throw ErrnoError("creating the socket directory " + directory);
  }
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) throw ErrnoError("socket(AF_UNIX)");
  if (bind(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    throw ErrnoError("bind " + path);
  // Everyone may connect: read-only requests are for anyone, and the daemon decides per request
  // from the peer's credentials (SO_PEERCRED), which a file mode could not express.
  if (chmod(path.c_str(), 0666) != 0) throw ErrnoError("chmod " + path);
  if (listen(fd.get(), SOMAXCONN) != 0) throw ErrnoError("listen " + path);
  return ListenSocket(std::move(fd), false, path, path);
}

ListenSocket::~ListenSocket() {
  if (fd_.valid() && !bound_path_.empty()) unlink(bound_path_.c_str());
}

}  // namespace hotpatch::daemon
