// Turns one parsed request into the engine call it asks for and the engine's answer (or error)
// into a response. Runs entirely on the connection's thread: ptrace only accepts requests for a
// tracee from the thread that attached it, so one engine call must not hop threads.
#pragma once

#include "base/unique_fd.h"
#include "hotpatchd/caller_credentials.h"
#include "hotpatchd/daemon_options.h"
#include "hotpatchd/daemon_stats.h"
#include "hotpatchd/install_watcher.h"
#include "hotpatchd/installed_bundles.h"
#include "hotpatchd/pid_locks.h"
#include "hotpatchd/request_log.h"
#include "hotpatchd/trusted_keys.h"
#include "proto/messages.h"

namespace hotpatch::daemon {

class RequestHandler {
 public:
  RequestHandler(const DaemonOptions& options, DaemonStats& stats, PidLocks& pid_locks,
                 const TrustedKeys& trusted_keys, InstalledBundles& installed,
                 InstallWatcher& install_watcher)
      : options_(options),
        stats_(stats),
        pid_locks_(pid_locks),
        trusted_keys_(trusted_keys),
        installed_(installed),
        install_watcher_(install_watcher) {}

  // Never throws: every failure becomes an ErrorReply. Fills `log` with target pid and patch.
  proto::Response Handle(const proto::Request& request, const CallerCredentials& caller,
                         UniqueFd attached_fd, RequestLogEntry& log);

 private:
  proto::Response Dispatch(const proto::Request& request, const CallerCredentials& caller,
                           UniqueFd attached_fd, RequestLogEntry& log);

  proto::UninstallResult Uninstall(const std::string& patch_id);
  proto::ListResult List(std::optional<pid_t> pid);
  proto::ListedProcess DescribeProcessSettled(pid_t pid);

  const DaemonOptions& options_;
  DaemonStats& stats_;
  PidLocks& pid_locks_;
  const TrustedKeys& trusted_keys_;
  InstalledBundles& installed_;
  InstallWatcher& install_watcher_;
};

}  // namespace hotpatch::daemon
