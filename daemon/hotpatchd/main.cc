// hotpatchd: the service that applies and reverts patches on request (design §7, docs/protocol.md).
#include <signal.h>
#include <sys/signalfd.h>
#include <systemd/sd-daemon.h>

#include <cstdio>

#include "base/error.h"
#include "base/unique_fd.h"
#include "hotpatchd/connection_server.h"
#include "hotpatchd/daemon_options.h"
#include "hotpatchd/install_watcher.h"
#include "hotpatchd/installed_bundles.h"
#include "hotpatchd/listen_socket.h"
#include "hotpatchd/pid_locks.h"
#include "hotpatchd/request_handler.h"
#include "hotpatchd/request_log.h"
#include "hotpatchd/trusted_keys.h"

namespace hotpatch::daemon {
namespace {

// SIGTERM (systemd's stop) and SIGINT arrive through a signalfd the accept loop polls, so the
// shutdown happens on the main thread in an orderly way. Blocked before any thread starts, so
// every connection thread inherits the mask and none is interrupted by them.
UniqueFd BlockStopSignals() {
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  if (pthread_sigmask(SIG_BLOCK, &stop, nullptr) != 0) throw ErrnoError("pthread_sigmask");
  UniqueFd fd(signalfd(-1, &stop, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd.valid()) throw ErrnoError("signalfd");
  // A client that disconnects while we write must not kill the daemon.
  signal(SIGPIPE, SIG_IGN);
  return fd;
}

int RunDaemon(int argc, char** argv) {
  DaemonOptions options;
  try {
    options = ParseDaemonOptions(argc, argv);
  } catch (const Error& e) {
    std::fprintf(stderr, "hotpatchd: %s\n", e.what());
    return 2;
  }
  if (options.help) {
    std::printf("%s\n", DaemonUsage());
    return 0;
  }
  RequestLog log;
  try {
    UniqueFd stop_fd = BlockStopSignals();
    TrustedKeys trusted_keys;
    if (options.trusted_keys_dir)
      trusted_keys = TrustedKeys::LoadDirectory(*options.trusted_keys_dir);
    ListenSocket listener = ListenSocket::Open(options.socket_path);
    DaemonStats stats;
    PidLocks pid_locks;
    InstalledBundles installed(options.state_dir, trusted_keys, log);
    // Declared after what it uses: destroyed (its thread joined) first.
    InstallWatcher install_watcher(installed, pid_locks, log, options.scheduling_boost);
    RequestHandler handler(options, stats, pid_locks, trusted_keys, installed, install_watcher);
    ConnectionServer server(listener, options, log, stats, handler);
    if (trusted_keys.required())
      log.Note("only bundles signed by one of " + std::to_string(trusted_keys.size()) +
               " trusted key(s) in " + *options.trusted_keys_dir + " are accepted");
    log.Note("hotpatchd " HOTPATCH_VERSION " listening on " + listener.description());
    if (!options.scheduling_boost)
      log.Note("scheduling boost off: targets' threads keep their scheduling while stopped");
    sd_notifyf(0, "READY=1\nSTATUS=listening on %s", listener.description().c_str());
    server.Run(stop_fd.get());
    sd_notify(0, "STOPPING=1\nSTATUS=stopping");
    log.Note("stopped after " + std::to_string(stats.requests_served.load()) + " request(s)");
    return 0;
  } catch (const Error& e) {
    log.Note(std::string("fatal: ") + e.what(), true);
    return 1;
  }
}

}  // namespace
}  // namespace hotpatch::daemon

int main(int argc, char** argv) {
  return hotpatch::daemon::RunDaemon(argc, argv);
}
