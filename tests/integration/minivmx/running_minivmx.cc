#include "running_minivmx.h"

#include <stdlib.h>

#include <filesystem>
#include <thread>

#include "base/error.h"
#include "control_client.h"

namespace hotpatch::test {

ScratchDirectory::ScratchDirectory() {
  char pattern[] = "/tmp/minivmx-XXXXXX";
  if (mkdtemp(pattern) == nullptr) throw ErrnoError("mkdtemp /tmp/minivmx-XXXXXX");
  path_ = pattern;
}

ScratchDirectory::~ScratchDirectory() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

RunningMinivmx::RunningMinivmx(unsigned vcpus, const std::vector<std::string>& extra_args)
    : socket_path_(directory_.path() + "/control.sock"),
      serial_log_path_(directory_.path() + "/serial.log"),
      process_([&] {
        std::vector<std::string> args = {"--vcpus",    std::to_string(vcpus), "--socket",
                                         socket_path_, "--serial-log",        serial_log_path_};
        args.insert(args.end(), extra_args.begin(), extra_args.end());
        return TargetProcess(ExamplePath("minivmx"), args);
      }()) {
  process_.WaitForLine("ready", std::chrono::seconds(30));
}

std::string RunningMinivmx::Ask(const std::string& query) {
  return ControlClient(socket_path_).Ask(query);
}

KeyValues RunningMinivmx::Status() {
  return ParseKeyValues(Ask("status"));
}

KeyValues RunningMinivmx::WaitForStatus(const std::function<bool(const KeyValues&)>& done,
                                        const std::string& what, std::chrono::seconds deadline) {
  auto give_up = std::chrono::steady_clock::now() + deadline;
  std::string answer;
  for (;;) {
    answer = Ask("status");
    KeyValues status = ParseKeyValues(answer);
    if (done(status)) return status;
    if (std::chrono::steady_clock::now() > give_up)
      throw Error(ErrorCode::kInternal, "minivmx pid " + std::to_string(process_.pid()) +
                                            " never reached: " + what + "; last status: " + answer);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace hotpatch::test
