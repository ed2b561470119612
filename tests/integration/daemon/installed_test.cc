// Installed bundles: kept in the state dir, applied by hotpatchd to every process that maps the
// target module — those running at install time and those started later — and reverted from all
// of them on uninstall; they survive a SIGKILLed daemon.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <set>
#include <thread>

#include "daemon_fixture.h"
#include "engine/engine.h"

namespace hotpatch::test {
namespace {

using Clock = std::chrono::steady_clock;

bool HasAppliedPatch(pid_t pid, const std::string& patch_id) {
  // The target's own registry, read without stopping it: what the engine really did.
  for (const auto& listed : ListPatches(pid))
    if (listed.record.patch_id == patch_id && listed.effective_state == "applied") return true;
  return false;
}

// How long until `pid` runs `patch_id`; fails the test after `limit`.
std::chrono::milliseconds WaitForAppliedPatch(pid_t pid, const std::string& patch_id,
                                              std::chrono::milliseconds limit) {
  auto start = Clock::now();
  while (!HasAppliedPatch(pid, patch_id)) {
    if (Clock::now() - start > limit) FAIL("pid " << pid << " never got " << patch_id);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

nlohmann::json InstalledEntry(const nlohmann::json& list, const std::string& patch_id) {
  for (const auto& bundle : list["installed"])
    if (bundle["patch_id"] == patch_id) return bundle;
  return nlohmann::json();
}

}  // namespace

TEST_CASE("install patches running and later started processes, uninstall reverts everywhere") {
  TempDir dir;
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock");
  std::string socket = daemon.socket_path();
  std::string bundle = BuildBundleFile("version2", TargetPath("install_loop"), "version2", dir);
  TargetProcess before(TargetPath("install_loop"), {"2"});
  before.WaitForLine("ready");

  CtlRun install = RunCtl({"--socket", socket, "--json", "install", bundle}, dir);
  INFO(install.err);
  REQUIRE(install.exit_code == 0);
  auto installed = install.Json();
  CHECK(installed["patch_id"] == "version2");
  CHECK(installed["target_module"] == "install_loop");
  CHECK(installed["already_installed"] == false);
  WaitForAppliedPatch(before.pid(), "version2", std::chrono::seconds(20));
  WaitForVersion(before, 2);
  // Installing the same bundle again changes nothing.
  CHECK(
      RunCtl({"--socket", socket, "--json", "install", bundle}, dir).Json()["already_installed"] ==
      true);

  // A process started after the install: the exec event (or the next /proc scan) finds it.
  TargetProcess after(TargetPath("install_loop"), {"2"});
  auto took = WaitForAppliedPatch(after.pid(), "version2", std::chrono::seconds(20));
  INFO("patched " << took.count() << " ms after it started");
  CHECK(took < std::chrono::milliseconds(1000));
  after.WaitForLine("ready");
  WaitForVersion(after, 2);

  CtlRun list = RunCtl({"--socket", socket, "--json", "list"}, dir);
  REQUIRE(list.exit_code == 0);
  auto entry = InstalledEntry(list.Json(), "version2");
  REQUIRE(entry.is_object());
  std::set<pid_t> applied;
  for (const auto& target : entry["targets"])
    if (target["state"] == "applied") applied.insert(target["pid"].get<pid_t>());
  CHECK(applied.count(before.pid()) == 1);
  CHECK(applied.count(after.pid()) == 1);

  CtlRun uninstall = RunCtl({"--socket", socket, "--json", "uninstall", "version2"}, dir);
  INFO(uninstall.err);
  REQUIRE(uninstall.exit_code == 0);
  auto uninstalled = uninstall.Json();
  std::set<pid_t> reverted;
  for (const auto& pid : uninstalled["reverted_pids"]) reverted.insert(pid.get<pid_t>());
  CHECK(reverted.count(before.pid()) == 1);
  CHECK(reverted.count(after.pid()) == 1);
  CHECK(uninstalled["failed"].empty());
  CHECK_FALSE(HasAppliedPatch(before.pid(), "version2"));
  CHECK_FALSE(HasAppliedPatch(after.pid(), "version2"));
  WaitForVersion(before, 1);
  WaitForVersion(after, 1);

  // Uninstalled means gone: a new process stays unpatched, and the list has no entry.
  TargetProcess later(TargetPath("install_loop"), {"2"});
  later.WaitForLine("ready");
  std::this_thread::sleep_for(std::chrono::milliseconds(800));
  CHECK_FALSE(HasAppliedPatch(later.pid(), "version2"));
  CHECK_FALSE(InstalledEntry(RunCtl({"--socket", socket, "--json", "list"}, dir).Json(), "version2")
                  .is_object());
  CtlRun again = RunCtl({"--socket", socket, "--json", "uninstall", "version2"}, dir);
  CHECK(again.exit_code == 1);
  CHECK(again.Json()["error"] == "not_found");
  CHECK(ReadStats(before)["errors"] == 0);
  CHECK(ReadStats(after)["errors"] == 0);
}

TEST_CASE("an installed bundle survives a SIGKILLed daemon and reaches processes started later") {
  TempDir dir;
  std::string socket = dir.path() + "/hotpatchd.sock";
  std::string bundle = BuildBundleFile("version2", TargetPath("install_loop"), "version2", dir);
  TargetProcess first(TargetPath("install_loop"), {"2"});
  first.WaitForLine("ready");
  {
    RunningDaemon daemon(socket);
    REQUIRE(RunCtl({"--socket", socket, "install", bundle}, dir).exit_code == 0);
    WaitForAppliedPatch(first.pid(), "version2", std::chrono::seconds(20));
    daemon.process().KillAndWait(SIGKILL);
  }
  // Nothing runs that could apply it; the next daemon reads the state dir.
  RunningDaemon restarted(socket);
  TargetProcess second(TargetPath("install_loop"), {"2"});
  WaitForAppliedPatch(second.pid(), "version2", std::chrono::seconds(20));
  second.WaitForLine("ready");
  WaitForVersion(second, 2);

  auto entry =
      InstalledEntry(RunCtl({"--socket", socket, "--json", "list"}, dir).Json(), "version2");
  REQUIRE(entry.is_object());
  CHECK(entry["target_module"] == "install_loop");
  // The first process was patched by the killed daemon; the new one recognizes it from the
  // registry instead of applying twice.
  bool first_listed = false;
  for (const auto& target : entry["targets"])
    if (target["pid"] == first.pid()) first_listed = target["state"] == "applied";
  CHECK(first_listed);
  std::vector<ListedPatch> patches = ListPatches(first.pid());
  CHECK(patches.size() == 1);

  CtlRun uninstall = RunCtl({"--socket", socket, "--json", "uninstall", "version2"}, dir);
  INFO(uninstall.err);
  REQUIRE(uninstall.exit_code == 0);
  CHECK_FALSE(HasAppliedPatch(first.pid(), "version2"));
  CHECK_FALSE(HasAppliedPatch(second.pid(), "version2"));
}

TEST_CASE("an installed bundle that cannot pass the safety check is listed as retrying") {
  TempDir dir;
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock");
  std::string socket = daemon.socket_path();
  TargetProcess target(TargetPath("install_loop"), {"1"});
  target.WaitForLine("ready");
  // spin_forever never leaves its thread's stack: every try ends busy.
  std::string spin = BuildBundleFile("spin", TargetPath("install_loop"), "spin", dir);
  REQUIRE(RunCtl({"--socket", socket, "install", spin}, dir).exit_code == 0);
  daemon.WaitForLogLine(
      {"installed patch spin", "pid " + std::to_string(target.pid()), "retrying in 200 ms"});

  // Without a pid: a process is never an error here.
  auto list = RunCtl({"--socket", socket, "--json", "list"}, dir);
  INFO(list.out << list.err);
  REQUIRE(list.exit_code == 0);
  auto listed = list.Json();
  auto entry = InstalledEntry(listed, "spin");
  REQUIRE(entry.is_object());
  REQUIRE(entry["targets"].size() == 1);
  CHECK(entry["targets"][0]["pid"] == target.pid());
  CHECK(entry["targets"][0]["state"] == "retrying");
  CHECK_THAT(entry["targets"][0]["message"].get<std::string>(), Catch::Contains("busy"));
  // The process itself shows the pending install, though its registry has no such patch.
  bool pending = false;
  for (const auto& process : listed["processes"])
    if (process["pid"] == target.pid())
      for (const auto& patch : process["patches"])
        pending = pending || (patch["patch_id"] == "spin" && patch["state"] == "install pending" &&
                              patch["effective_state"] == "not applied");
  CHECK(pending);

  CtlRun uninstall = RunCtl({"--socket", socket, "--json", "uninstall", "spin"}, dir);
  INFO(uninstall.err);
  CHECK(uninstall.exit_code == 0);
  CHECK(uninstall.Json()["reverted_pids"].empty());
}

// The watcher retries busy targets again and again; each try stops the target, and must leave
// it exactly as it was (a stepped thread's SIGTRAP must never reach it).
TEST_CASE("a target survives the watcher's repeated busy tries") {
  TempDir dir;
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock");
  std::string socket = daemon.socket_path();
  TargetProcess target(TargetPath("install_loop"), {"1"});
  target.WaitForLine("ready");
  std::string spin = BuildBundleFile("spin", TargetPath("install_loop"), "spin", dir);
  REQUIRE(RunCtl({"--socket", socket, "install", spin}, dir).exit_code == 0);
  // Two busy tries, the second one later than the first (back-off).
  daemon.WaitForLogLine({"installed patch spin", "retrying in 400 ms"});
  CHECK(RunCtl({"--socket", socket, "uninstall", "spin"}, dir).exit_code == 0);
  REQUIRE(kill(target.pid(), 0) == 0);
  CHECK_FALSE(HasAppliedPatch(target.pid(), "spin"));
  CHECK(ReadStats(target)["errors"] == 0);
}

}  // namespace hotpatch::test
