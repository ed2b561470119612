#include "hotpatchctl/daemon_client.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "base/error.h"
#include "base/unique_fd.h"
#include "proto/line_socket.h"

namespace hotpatch::ctl {
namespace {

std::string HowToStart(const std::string& path) {
  return "Start the daemon with `systemctl start hotpatchd.socket` (installed service) or "
         "`hotpatchd --socket " +
         path + "`, or point --socket / HOTPATCH_SOCKET at the socket of a running one.";
}

UniqueFd Connect(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof address.sun_path)
    throw Error(ErrorCode::kBadRequest, "socket path too long: " + path);
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) throw ErrnoError("socket(AF_UNIX)");
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0)
    return fd;
  int err = errno;
  switch (err) {
    case ENOENT:
      throw Error(ErrorCode::kInternal,
                  "hotpatchd is not running: no socket at " + path + ". " + HowToStart(path));
    case ECONNREFUSED:
      throw Error(ErrorCode::kInternal, "hotpatchd is not running: nothing listens on " + path +
                                            " (left by a stopped daemon?). " + HowToStart(path));
    case EACCES:
    case EPERM:
      throw Error(ErrorCode::kPermissionDenied,
                  "cannot connect to hotpatchd at " + path +
                      ": permission denied. The socket or a directory above it is not accessible "
                      "to this user; ask an administrator, or use a socket you can reach.");
    default:
      throw Error(ErrorCode::kInternal,
                  "cannot connect to hotpatchd at " + path + ": " + strerror(err));
  }
}

}  // namespace

proto::Response ExchangeWithDaemon(const std::string& socket_path, const proto::Request& request,
                                   int bundle_fd, std::chrono::milliseconds response_timeout) {
  UniqueFd connection = Connect(socket_path);
  auto deadline = std::chrono::steady_clock::now() + response_timeout;
  proto::SendLine(connection.get(), proto::SerializeRequest(request), deadline, bundle_fd);
  std::optional<proto::ReceivedLine> line;
  try {
    line = proto::ReceiveLine(connection.get(), proto::kMaxResponseBytes, deadline);
  } catch (const Error& e) {
    throw Error(ErrorCode::kInternal,
                "no response from hotpatchd at " + socket_path + ": " + e.what());
  }
  if (!line)
    throw Error(ErrorCode::kInternal,
                "hotpatchd at " + socket_path + " closed the connection without an answer");
  try {
    return proto::ParseResponse(line->line);
  } catch (const Error& e) {
    throw Error(ErrorCode::kInternal,
                "hotpatchd at " + socket_path + " sent an invalid response: " + e.what());
  }
}

}  // namespace hotpatch::ctl
