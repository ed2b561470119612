// A minivmx started for one test, in a scratch directory holding its socket and serial log. The
// process is owned by a TargetProcess (killed and reaped at the end); the directory is removed
// after it.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "support/target_process.h"

namespace hotpatch::test {

class ScratchDirectory {
 public:
  ScratchDirectory();  // a fresh /tmp/minivmx-XXXXXX (short: socket paths max 107 bytes)
  ~ScratchDirectory();
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

using KeyValues = std::map<std::string, std::string>;

class RunningMinivmx {
 public:
  // Starts minivmx with --vcpus `vcpus` plus `extra_args` and waits for its "ready" line.
  explicit RunningMinivmx(unsigned vcpus, const std::vector<std::string>& extra_args = {});

  TargetProcess& process() { return process_; }
  const std::string& socket_path() const { return socket_path_; }
  const std::string& serial_log_path() const { return serial_log_path_; }

  // One query on a fresh connection; the raw answer line.
  std::string Ask(const std::string& query);
  KeyValues Status();
  // Polls `status` until `done` holds; throws with `what` and the last answer at the deadline.
  // The deadline is generous: it only bounds a hang, it does not measure speed.
  KeyValues WaitForStatus(const std::function<bool(const KeyValues&)>& done,
                          const std::string& what,
                          std::chrono::seconds deadline = std::chrono::seconds(60));

 private:
  ScratchDirectory directory_;  // declared first: destroyed after the process is gone
  std::string socket_path_;
  std::string serial_log_path_;
  TargetProcess process_;
};

}  // namespace hotpatch::test
