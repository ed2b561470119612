// Who is on the other end of a connection, as the kernel says (SO_PEERCRED, SO_PEERGROUPS), not
// as the request claims.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

namespace hotpatch::daemon {

struct CallerCredentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups
};

CallerCredentials ReadCallerCredentials(int connection);

// Requests that change a process (apply, revert) are for root and members of the admin group.
bool MayChangeProcesses(const CallerCredentials& caller, std::optional<gid_t> admin_group);

// "uid 1000 pid 4242" for logs and messages.
std::string DescribeCaller(const CallerCredentials& caller);

}  // namespace hotpatch::daemon
