// minivmx as the demo and later patch tests see it: a running multi-threaded target whose state
// is read from its control socket.
#include <signal.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "control_client.h"
#include "running_minivmx.h"

namespace hotpatch::test {
namespace {

bool SerialVerdictKnown(const KeyValues& status) {
  return status.at("serial_ok") != "unknown";
}

std::multiset<std::string> ThreadNames(pid_t pid) {
  std::multiset<std::string> names;
  for (const auto& task : std::filesystem::directory_iterator(std::filesystem::path("/proc") /
                                                              std::to_string(pid) / "task")) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    names.insert(name);
  }
  return names;
}

}  // namespace

TEST_CASE("status shows the demo serial bug while the vCPUs run without errors") {
  RunningMinivmx vm(2);
  KeyValues status = vm.WaitForStatus(SerialVerdictKnown, "a serial_ok verdict");

  // The deliberate bug (examples/minivmx/serial_ring_read.c) loses the last byte of every ring
  // read that wraps; with a 256-byte ring that happens many times within the verdict's window.
  CHECK(status.at("serial_ok") == "no");
  CHECK(KeyAsNumber(status, "serial_bad_lines") > 0);
  CHECK(KeyAsNumber(status, "serial_bad_lines") < KeyAsNumber(status, "serial_lines"));
  CHECK(KeyAsNumber(status, "vcpus") == 2);
  CHECK(KeyAsNumber(status, "pid") == static_cast<uint64_t>(vm.process().pid()));
  CHECK(status.at("init_done") == "1");

  // Progress, not speed: the run count only has to grow, however loaded the machine is.
  uint64_t runs = KeyAsNumber(status, "vcpu_runs");
  uint64_t ticks = KeyAsNumber(status, "timer_ticks");
  KeyValues later = vm.WaitForStatus(
      [&](const KeyValues& s) {
        return KeyAsNumber(s, "vcpu_runs") > runs && KeyAsNumber(s, "timer_ticks") > ticks;
      },
      "more vCPU runs and timer ticks");
  CHECK(KeyAsNumber(later, "vcpu_errors") == 0);
}

TEST_CASE("stats reports every vCPU and the serial byte count") {
  RunningMinivmx vm(3);
  // Each vCPU thread starts on its own schedule: poll until every one has finished a run.
  auto every_vcpu_ran = [](const KeyValues& stats) {
    for (int i = 0; i < 3; ++i)
      if (KeyAsNumber(stats, "vcpu" + std::to_string(i) + "_runs") == 0) return false;
    return KeyAsNumber(stats, "serial_bytes") > 0;
  };
  auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  KeyValues stats = ParseKeyValues(vm.Ask("stats"));
  while (!every_vcpu_ran(stats) && std::chrono::steady_clock::now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stats = ParseKeyValues(vm.Ask("stats"));
  }
  REQUIRE(every_vcpu_ran(stats));
  for (int i = 0; i < 3; ++i) {
    INFO("vCPU " << i);
    CHECK(KeyAsNumber(stats, "vcpu" + std::to_string(i) + "_errors") == 0);
  }
  CHECK(stats.count("vcpu3_runs") == 0);
  CHECK(stats.count("uptime_ms") == 1);
}

TEST_CASE("one connection answers several queries and rejects unknown ones") {
  RunningMinivmx vm(1);
  ControlClient client(vm.socket_path());
  CHECK(client.Ask("bogus").starts_with("error unknown query 'bogus'"));
  CHECK(ParseKeyValues(client.Ask("status")).count("serial_ok") == 1);
  CHECK(ParseKeyValues(client.Ask("stats")).count("vcpu0_runs") == 1);
}

TEST_CASE("quit answers bye, exits with status 0 and removes the socket") {
  RunningMinivmx vm(2);
  CHECK(vm.Ask("quit") == "bye");
  int status = vm.process().WaitForExit(std::chrono::seconds(30));
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_FALSE(std::filesystem::exists(vm.socket_path()));
}

TEST_CASE("SIGTERM exits cleanly with status 0") {
  RunningMinivmx vm(2);
  int status = vm.process().KillAndWait(SIGTERM);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  CHECK_FALSE(std::filesystem::exists(vm.socket_path()));
}

TEST_CASE("each thread is named after its role, one vcpuN per --vcpus") {
  RunningMinivmx vm(3);
  std::multiset<std::string> expected = {"minivmx", "timer", "serial", "control",
                                         "vcpu0",   "vcpu1", "vcpu2"};
  CHECK(ThreadNames(vm.process().pid()) == expected);
}

TEST_CASE("the serial log holds the guest's report lines, some of them mangled by the bug") {
  RunningMinivmx vm(2);
  vm.WaitForStatus(SerialVerdictKnown, "a serial_ok verdict");
  // Quit first: the device thread drains the ring into the log before the process exits.
  CHECK(vm.Ask("quit") == "bye");
  vm.process().WaitForExit(std::chrono::seconds(30));

  std::ifstream log(vm.serial_log_path());
  const std::regex line_format(R"(vcpu [01] run \d+ result \d+ check [0-9a-f]{8})");
  std::string line;
  int intact = 0, mangled = 0;
  while (std::getline(log, line)) ++(std::regex_match(line, line_format) ? intact : mangled);
  // At least 64 lines arrived; the bug merges roughly one pair per 256-byte lap of the ring.
  CHECK(intact >= 16);
  CHECK(mangled > 0);
}

TEST_CASE("minivmx-ctl prints the answer to its query") {
  RunningMinivmx vm(1);
  TargetProcess ctl(ExamplePath("minivmx") + "-ctl", {"--socket", vm.socket_path(), "status"});
  std::string answer = ctl.ReadLine();
  CHECK(answer.find("serial_ok=") != std::string::npos);
  CHECK(answer.find("pid=" + std::to_string(vm.process().pid())) != std::string::npos);
  int status = ctl.WaitForExit();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);

  TargetProcess bad_query(ExamplePath("minivmx") + "-ctl", {"--socket", vm.socket_path(), "bogus"});
  CHECK(bad_query.ReadLine().starts_with("error"));
  status = bad_query.WaitForExit();
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 1);
}

TEST_CASE("spinning vCPUs (--spin) run without halting and still check out") {
  RunningMinivmx vm(1, {"--spin"});
  KeyValues status = vm.WaitForStatus(
      [](const KeyValues& s) { return KeyAsNumber(s, "vcpu_runs") >= 1000; }, "1000 vCPU runs");
  CHECK(KeyAsNumber(status, "vcpu_errors") == 0);
}

TEST_CASE("bad arguments exit with status 2 before starting anything") {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {"--vcpus", "0"}, {"--vcpus", "many"}, {"--no-such-option"}, {"stray"}}) {
    INFO("arguments: " << args[0]);
    TargetProcess process(ExamplePath("minivmx"), args);
    int status = process.WaitForExit();
    REQUIRE(WIFEXITED(status));
    CHECK(WEXITSTATUS(status) == 2);
  }
}

}  // namespace hotpatch::test
