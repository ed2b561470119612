#include "hotpatchd/daemon_options.h"

#include <grp.h>

#include <cstdlib>
#include <string_view>

#include "base/error.h"

namespace hotpatch::daemon {
namespace {

[[noreturn]] void Usage(const std::string& what) {
  throw Error(ErrorCode::kBadRequest, what + "\n" + DaemonUsage());
}

uint64_t ParseCount(std::string_view option, const std::string& text) {
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || n == 0 || text[0] == '-')
    Usage(std::string(option) + " expects a positive integer, got '" + text + "'");
  return n;
}

gid_t LookUpGroup(const std::string& name) {
  // getgrnam_r: the daemon is multi-threaded later; be reentrant from the start.
  group entry{};
  group* found = nullptr;
  std::string buffer(16384, '\0');
  int err = getgrnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (err != 0 || found == nullptr) Usage("--admin-group: no group named '" + name + "'");
  return found->gr_gid;
}

}  // namespace

const char* DaemonUsage() {
  return "usage: hotpatchd [--socket PATH] [--state-dir DIR] [--admin-group NAME]\n"
         "                 [--trusted-keys DIR] [--request-timeout-ms N] [--max-connections N]\n"
         "                 [--no-scheduling-boost]\n"
         "  --socket PATH   listening socket (default $HOTPATCH_SOCKET, else "
         "/run/hotpatch/hotpatchd.sock);\n"
         "                  ignored under systemd socket activation (LISTEN_FDS)\n"
         "  --state-dir DIR installed bundles are kept in DIR/installed (default "
         "/var/lib/hotpatch)\n"
         "  --trusted-keys  directory of *.pub Ed25519 keys: only bundles signed by one are run\n"
         "  --admin-group   members of this group may apply and revert patches, besides root\n"
         "  --no-scheduling-boost\n"
         "                  never raise a target's not-yet-stopped threads to SCHED_FIFO while\n"
         "                  stopping it (for targets whose scheduling must not change at all)";
}

DaemonOptions ParseDaemonOptions(int argc, char** argv) {
  DaemonOptions options;
  const char* env_socket = std::getenv("HOTPATCH_SOCKET");
  options.socket_path = env_socket && *env_socket ? env_socket : kDefaultSocketPath;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--socket") {
      options.socket_path = value();
    } else if (arg == "--state-dir") {
      options.state_dir = value();
    } else if (arg == "--trusted-keys") {
      options.trusted_keys_dir = value();
    } else if (arg == "--admin-group") {
      options.admin_group_name = value();
      options.admin_group = LookUpGroup(options.admin_group_name);
    } else if (arg == "--request-timeout-ms") {
      options.request_timeout = std::chrono::milliseconds(ParseCount(arg, value()));
    } else if (arg == "--max-connections") {
      options.max_connections = ParseCount(arg, value());
    } else if (arg == "--no-scheduling-boost") {
      options.scheduling_boost = false;
    } else if (arg == "--help" || arg == "-h") {
      options.help = true;
    } else {
      Usage("unknown argument '" + std::string(arg) + "'");
    }
  }
  if (options.socket_path.empty()) Usage("--socket: empty path");
  return options;
}

}  // namespace hotpatch::daemon
