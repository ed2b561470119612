// Turns one parsed request into the engine call it asks for and the engine's answer (or error)
// into a response. Runs entirely on the connection's thread: ptrace only accepts requests for a
// tracee from the thread that attached it, so one engine call must not hop threads.
#pragma once

#include "base/unique_fd.h"
#include "hotpatchd/caller_credentials.h"
#include "hotpatchd/daemon_options.h"
#include "hotpatchd/daemon_stats.h"
#include "hotpatchd/pid_locks.h"
#include "hotpatchd/request_log.h"
#include "proto/messages.h"

namespace hotpatch::daemon {

class RequestHandler {
 public:
  RequestHandler(const DaemonOptions& options, DaemonStats& stats)
      : options_(options), stats_(stats) {}

  // Never throws: every failure becomes an ErrorReply. Fills `log` with target pid and patch.
  proto::Response Handle(const proto::Request& request, const CallerCredentials& caller,
                         UniqueFd attached_fd, RequestLogEntry& log);

 private:
  proto::Response Dispatch(const proto::Request& request, const CallerCredentials& caller,
                           UniqueFd attached_fd, RequestLogEntry& log);

  const DaemonOptions& options_;
  DaemonStats& stats_;
  PidLocks pid_locks_;
};

}  // namespace hotpatch::daemon
