// Accepts connections and serves each on its own thread: one request line, one response line.
// A thread per connection keeps every engine call on one thread from start to finish (ptrace's
// rule), lets requests for different pids run in parallel, and isolates clients: a slow, broken
// or vanished client only ever holds its own thread, and only until its request deadline.
#pragma once

#include <condition_variable>
#include <mutex>

#include "base/unique_fd.h"
#include "hotpatchd/daemon_options.h"
#include "hotpatchd/daemon_stats.h"
#include "hotpatchd/listen_socket.h"
#include "hotpatchd/request_handler.h"
#include "hotpatchd/request_log.h"

namespace hotpatch::daemon {

class ConnectionServer {
 public:
  ConnectionServer(const ListenSocket& listener, const DaemonOptions& options, RequestLog& log,
                   DaemonStats& stats, RequestHandler& handler);
  ConnectionServer(const ConnectionServer&) = delete;
  ConnectionServer& operator=(const ConnectionServer&) = delete;

  // Serves until `stop_fd` becomes readable. Then accepts nothing more, drops connections still
  // waiting for their request, lets the requests being handled finish and answer, and returns
  // once every connection thread is done.
  void Run(int stop_fd);

 private:
  void AcceptOne();
  void Serve(UniqueFd connection);
  void RefuseOverCapacity(UniqueFd connection);

  const ListenSocket& listener_;
  const DaemonOptions& options_;
  RequestLog& log_;
  DaemonStats& stats_;
  RequestHandler& handler_;
  UniqueFd shutdown_event_;  // eventfd, readable once shutdown started: wakes waiting readers

  std::mutex mutex_;
  std::condition_variable connection_ended_;
  size_t open_connections_ = 0;
};

}  // namespace hotpatch::daemon
