#include "hotpatchd/caller_credentials.h"

#include <sys/socket.h>

#include <algorithm>

#include "base/error.h"

namespace hotpatch::daemon {

CallerCredentials ReadCallerCredentials(int connection) {
  ucred cred{};
  socklen_t length = sizeof cred;
  if (getsockopt(connection, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0)
    throw ErrnoError("getsockopt(SO_PEERCRED)");
  CallerCredentials caller{cred.pid, cred.uid, cred.gid, {}};
  // SO_PEERCRED has only the primary group; membership of the admin group is usually a
  // supplementary one. SO_PEERGROUPS (Linux 4.13) gives those as of connect().
  std::vector<gid_t> groups(64);
  for (;;) {
    length = static_cast<socklen_t>(groups.size() * sizeof(gid_t));
    if (getsockopt(connection, SOL_SOCKET, SO_PEERGROUPS, groups.data(), &length) == 0) {
      groups.resize(length / sizeof(gid_t));
      caller.groups = std::move(groups);
      break;
    }
    if (errno != ERANGE) break;  // an older kernel: only the primary group counts
    groups.resize(length / sizeof(gid_t) + 1);
  }
  return caller;
}

bool MayChangeProcesses(const CallerCredentials& caller, std::optional<gid_t> admin_group) {
  if (caller.uid == 0) return true;
  if (!admin_group) return false;
  return caller.gid == *admin_group ||
         std::find(caller.groups.begin(), caller.groups.end(), *admin_group) != caller.groups.end();
}

std::string DescribeCaller(const CallerCredentials& caller) {
  return "uid " + std::to_string(caller.uid) + " pid " + std::to_string(caller.pid);
}

}  // namespace hotpatch::daemon
