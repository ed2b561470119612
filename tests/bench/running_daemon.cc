#include "running_daemon.h"

#include <fstream>
#include <thread>

#include "base/error.h"
#include "shell_command.h"

namespace hotpatch::bench {

RunningDaemon::RunningDaemon(const std::string& hotpatchd, const std::string& hotpatchctl)
    : socket_path_(scratch_.path() + "/hotpatchd.sock") {
  // Through sh only to silence its request log (one line per request on stderr); exec keeps the
  // pid, so the RSS read and the kill reach hotpatchd itself.
  process_ = std::make_unique<test::TargetProcess>(
      "/bin/sh",
      std::vector<std::string>{"-c", "exec " + hotpatchd + " --socket " + socket_path_ +
                                         " --state-dir " + scratch_.path() + " 2>/dev/null"});
  for (int i = 0; i < 500; ++i) {
    if (TryRunCommand(hotpatchctl + " --socket " + socket_path_ + " status").exit_code == 0) return;
    if (!process_->IsAlive()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  throw Error(ErrorCode::kInternal, "hotpatchd did not answer on " + socket_path_);
}

long RunningDaemon::ResidentKib() const {
  std::ifstream status("/proc/" + std::to_string(pid()) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  throw Error(ErrorCode::kNoSuchProcess,
              "hotpatchd pid " + std::to_string(pid()) + " has no VmRSS");
}

}  // namespace hotpatch::bench
