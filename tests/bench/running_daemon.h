// hotpatchd started for a benchmark on a private socket and state directory, stopped (SIGKILL
// through TargetProcess) when the benchmark ends, whatever happens.
#pragma once

#include <memory>
#include <string>

#include "support/scratch_directory.h"
#include "support/target_process.h"

namespace hotpatch::bench {

class RunningDaemon {
 public:
  // Starts `hotpatchd` and waits until its socket accepts connections (hotpatchctl status).
  RunningDaemon(const std::string& hotpatchd, const std::string& hotpatchctl);

  pid_t pid() const { return process_->pid(); }
  const std::string& socket_path() const { return socket_path_; }
  // VmRSS from /proc/PID/status, in KiB.
  long ResidentKib() const;

 private:
  test::ScratchDirectory scratch_{"daemon"};
  std::string socket_path_;
  std::unique_ptr<test::TargetProcess> process_;
};

}  // namespace hotpatch::bench
