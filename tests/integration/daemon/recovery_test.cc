// The daemon keeps no patch state: a SIGKILLed daemon's successor learns everything from the
// targets' registries; SIGTERM lets the work in flight finish and answer.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <thread>

#include "daemon_fixture.h"

namespace hotpatch::test {

TEST_CASE("a daemon SIGKILLed and restarted still lists and reverts the applied patch") {
  TempDir dir;
  std::string socket = dir.path() + "/hotpatchd.sock";
  TargetProcess target(TargetPath("engine_loop"), {"2"});
  target.WaitForLine("ready");
  std::string pid = std::to_string(target.pid());
  std::string bundle = BuildBundleFile("version2", TargetPath("engine_loop"), "version2", dir);
  {
    RunningDaemon first(socket);
    REQUIRE(RunCtl({"--socket", socket, "apply", pid, bundle}, dir).exit_code == 0);
    first.process().KillAndWait(SIGKILL);
  }
  // The killed daemon left its socket file behind; the next one replaces it.
  struct stat st {};
  REQUIRE(lstat(socket.c_str(), &st) == 0);
  RunningDaemon second(socket);
  CtlRun list = RunCtl({"--socket", socket, "--json", "list"}, dir);
  REQUIRE(list.exit_code == 0);
  auto listed = list.Json();
  bool found = false;
  for (const auto& p : listed["processes"])
    if (p["pid"] == target.pid()) {
      found = true;
      REQUIRE(p["patches"].size() == 1);
      CHECK(p["patches"][0]["patch_id"] == "version2");
      CHECK(p["patches"][0]["effective_state"] == "applied");
    }
  CHECK(found);
  WaitForVersion(target, 2);
  CtlRun revert = RunCtl({"--socket", socket, "--json", "revert", pid}, dir);
  INFO(revert.err);
  CHECK(revert.exit_code == 0);
  CHECK(revert.Json()["reverted"] == nlohmann::json::array({"version2"}));
  WaitForVersion(target, 1);
}

TEST_CASE("a second daemon refuses a socket where one still listens") {
  TempDir dir;
  RunningDaemon first(dir.path() + "/hotpatchd.sock");
  TargetProcess second("/bin/sh", {"-c", "exec " + ShellQuote(HOTPATCHD_PATH) + " --socket " +
                                             ShellQuote(first.socket_path()) + " 2>&1"});
  CHECK_THAT(second.ReadLine(), Catch::Contains("already listens"));
  int status = second.WaitForExit();
  CHECK(WEXITSTATUS(status) == 1);
  CHECK(RunCtl({"--socket", first.socket_path(), "status"}, dir).exit_code == 0);
}

TEST_CASE("SIGTERM stops accepting but lets the request in flight finish and answer") {
  TempDir dir;
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock");
  std::string socket = daemon.socket_path();
  TargetProcess target(TargetPath("engine_loop"), {"1"});
  target.WaitForLine("ready");
  // spin_forever never leaves the stack: the engine retries until the 3 s deadline, so the
  // request is certainly in flight when SIGTERM comes.
  std::string spin = BuildBundleFile("spin", TargetPath("engine_loop"), "spin", dir);
  std::string stderr_file = dir.path() + "/apply-stderr";
  TargetProcess apply = StartCtl(
      {"--socket", socket, "--json", "apply", std::to_string(target.pid()), spin, "--timeout", "3"},
      stderr_file);
  // Wait until the daemon counts it in flight (status counts itself too).
  for (int i = 0;; ++i) {
    REQUIRE(i < 500);
    CtlRun status = RunCtl({"--socket", socket, "--json", "status"}, dir);
    if (status.Json()["in_flight"].get<int>() >= 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(daemon.process().pid(), SIGTERM);
  daemon.WaitForLogLine({"stopping: waiting for"});
  CtlRun result = FinishCtl(apply, stderr_file);
  CHECK(result.exit_code == 3);
  CHECK(result.Json()["error"] == "busy");
  int status = daemon.process().WaitForExit(std::chrono::seconds(30));
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  // It removed the socket it bound, so clients get "not running", not a hang.
  CtlRun after = RunCtl({"--socket", socket, "status"}, dir);
  CHECK(after.exit_code == 1);
  CHECK_THAT(after.err, Catch::Contains("not running"));
  CHECK(ReadStats(target)["errors"] == 0);
}

}  // namespace hotpatch::test
