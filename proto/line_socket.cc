#include "line_socket.h"

#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "base/error.h"

namespace hotpatch::proto {
namespace {

int MillisecondsLeft(Deadline deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left.count(), INT32_MAX));
}

// Waits for `events` on `socket`; false when the deadline passed or cancel_fd fired.
bool WaitFor(int socket, short events, Deadline deadline, int cancel_fd) {
  for (;;) {
    pollfd fds[2] = {{socket, events, 0}, {cancel_fd, POLLIN, 0}};
    int n = poll(fds, cancel_fd >= 0 ? 2 : 1, MillisecondsLeft(deadline));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ErrnoError("poll on protocol socket");
    if (n == 0) return false;
    if (cancel_fd >= 0 && (fds[1].revents & POLLIN)) return false;
    return true;
  }
}

}  // namespace

void SendLine(int socket, std::string_view line, Deadline deadline, int attached_fd) {
  std::string framed(line);
  framed.push_back('\n');
  size_t sent = 0;
  while (sent < framed.size()) {
    if (!WaitFor(socket, POLLOUT, deadline, -1))
      throw Error(ErrorCode::kInternal, "timed out sending a protocol message");
    iovec iov{framed.data() + sent, framed.size() - sent};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))];
    if (sent == 0 && attached_fd >= 0) {
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
      cmsg->cmsg_level = SOL_SOCKET;
      cmsg->cmsg_type = SCM_RIGHTS;
      cmsg->cmsg_len = CMSG_LEN(sizeof(int));
      std::memcpy(CMSG_DATA(cmsg), &attached_fd, sizeof(int));
    }
    // MSG_NOSIGNAL: a peer that went away must be an error here, not a SIGPIPE for the process.
    ssize_t n = sendmsg(socket, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) throw ErrnoError("sending a protocol message");
    sent += static_cast<size_t>(n);
  }
}

std::optional<ReceivedLine> ReceiveLine(int socket, size_t max_bytes, Deadline deadline,
                                        int cancel_fd) {
  ReceivedLine received;
  std::string& buffer = received.line;
  for (;;) {
    if (!WaitFor(socket, POLLIN, deadline, cancel_fd))
      throw Error(ErrorCode::kInternal, "no complete message before the deadline");
    char chunk[4096];
    iovec iov{chunk, sizeof chunk};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    // Room for a few descriptors: a client may pass more than one; all but the first are closed.
    alignas(cmsghdr) char control[CMSG_SPACE(4 * sizeof(int))];
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
    // MSG_CMSG_CLOEXEC: a received descriptor must not leak into anything we exec.
    ssize_t n = recvmsg(socket, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n < 0) throw ErrnoError("receiving a protocol message");
    for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof fd);
        if (!received.fd.valid())
          received.fd.reset(fd);
        else
          close(fd);
      }
    }
    if (n == 0) {
      if (buffer.empty()) return std::nullopt;
      throw Error(ErrorCode::kBadRequest, "connection closed in the middle of a message");
    }
    const char* newline = static_cast<const char*>(memchr(chunk, '\n', static_cast<size_t>(n)));
    size_t take = newline ? static_cast<size_t>(newline - chunk) : static_cast<size_t>(n);
    if (buffer.size() + take > max_bytes)
      throw Error(ErrorCode::kBadRequest,
                  "message longer than " + std::to_string(max_bytes) + " bytes");
    buffer.append(chunk, take);
    // One message per connection: bytes after the newline are not read on purpose.
    if (newline) return received;
  }
}

}  // namespace hotpatch::proto
