#include "hotpatchd/exec_events.h"

#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hotpatch::daemon {

ExecEvents::ExecEvents() {
  UniqueFd fd(socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR));
  if (!fd.valid()) {
    why_ = std::string("netlink connector socket: ") + strerror(errno);
    return;
  }
  sockaddr_nl address{};
  address.nl_family = AF_NETLINK;
  address.nl_groups = CN_IDX_PROC;
  address.nl_pid = 0;  // the kernel assigns a unique port id
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    why_ = std::string("bind to the proc connector: ") + strerror(errno);
    return;
  }
  // nlmsghdr, cn_msg (whose data[] is a flexible array) and the op, laid out back to back.
  alignas(nlmsghdr) char subscribe[NLMSG_SPACE(sizeof(cn_msg) + sizeof(proc_cn_mcast_op))] = {};
  auto* header = reinterpret_cast<nlmsghdr*>(subscribe);
  header->nlmsg_len = NLMSG_LENGTH(sizeof(cn_msg) + sizeof(proc_cn_mcast_op));
  header->nlmsg_type = NLMSG_DONE;
  header->nlmsg_pid = static_cast<__u32>(getpid());
  auto* message = static_cast<cn_msg*>(NLMSG_DATA(header));
  message->id.idx = CN_IDX_PROC;
  message->id.val = CN_VAL_PROC;
  message->len = sizeof(proc_cn_mcast_op);
  proc_cn_mcast_op op = PROC_CN_MCAST_LISTEN;
  std::memcpy(message->data, &op, sizeof op);
  // Listening needs CAP_NET_ADMIN: the kernel checks it when the op arrives, and without it the
  // send succeeds but no event ever comes (EPERM shows only on newer kernels).
  if (send(fd.get(), subscribe, header->nlmsg_len, 0) != static_cast<ssize_t>(header->nlmsg_len)) {
    why_ = std::string("subscribe to process events: ") + strerror(errno);
    return;
  }
  socket_ = std::move(fd);
}

bool ExecEvents::DrainSawExec() {
  bool saw_exec = false;
  alignas(nlmsghdr) char buffer[8192];
  for (;;) {
    ssize_t n = recv(socket_.get(), buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    // ENOBUFS: events were dropped because we were slow; the next /proc scan finds the process.
    if (n < 0 && errno == ENOBUFS) {
      saw_exec = true;
      continue;
    }
    if (n <= 0) return saw_exec;
    size_t length = static_cast<size_t>(n);
    for (auto* header = reinterpret_cast<nlmsghdr*>(buffer); NLMSG_OK(header, length);
         header = NLMSG_NEXT(header, length)) {
      if (header->nlmsg_type == NLMSG_ERROR || header->nlmsg_type == NLMSG_NOOP) continue;
      auto* message = static_cast<cn_msg*>(NLMSG_DATA(header));
      if (message->id.idx != CN_IDX_PROC || message->id.val != CN_VAL_PROC) continue;
      // The event sits at offset 36 of the message: copy it out rather than read it misaligned.
      proc_event event;
      std::memcpy(&event, message->data, sizeof event);
      if (event.what == proc_event::PROC_EVENT_EXEC) saw_exec = true;
    }
  }
}

}  // namespace hotpatch::daemon
