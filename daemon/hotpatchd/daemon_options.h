// hotpatchd's command line (design §7): hotpatchd [--socket PATH] [--state-dir DIR]
// [--admin-group NAME] [--trusted-keys DIR] [--request-timeout-ms N] [--max-connections N]
// [--no-scheduling-boost].
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>

namespace hotpatch::daemon {

inline constexpr char kDefaultSocketPath[] = "/run/hotpatch/hotpatchd.sock";
inline constexpr char kDefaultStateDir[] = "/var/lib/hotpatch";

struct DaemonOptions {
  std::string socket_path;  // --socket, else $HOTPATCH_SOCKET, else kDefaultSocketPath
  std::string state_dir = kDefaultStateDir;
  // Directory of trusted Ed25519 public keys (*.pub); when set, only bundles signed by one of
  // them are applied or installed.
  std::optional<std::string> trusted_keys_dir;
  std::optional<gid_t> admin_group;  // members may apply and revert, besides root
  std::string admin_group_name;
  // A client that has not sent its whole request by then is dropped: an abandoned connection
  // must not hold a thread (and a connection slot) forever.
  std::chrono::milliseconds request_timeout{10000};
  // One thread per connection; beyond this, new clients get an error at once.
  size_t max_connections = 256;
  // ApplyOptions/RevertOptions::scheduling_boost of every engine call the daemon makes:
  // --no-scheduling-boost leaves the targets' threads' scheduling untouched.
  bool scheduling_boost = true;
  bool help = false;
};

// Throws Error(kBadRequest) with a usage message for a bad command line.
DaemonOptions ParseDaemonOptions(int argc, char** argv);

const char* DaemonUsage();

}  // namespace hotpatch::daemon
