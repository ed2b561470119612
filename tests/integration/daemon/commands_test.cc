// Every hotpatchctl command end to end through a real hotpatchd and a real target: exit codes of
// design §7 and the --json shapes scripts rely on.
#include <catch2/catch.hpp>

#include "daemon_fixture.h"

namespace hotpatch::test {
namespace {

void RequireKeys(const nlohmann::json& value, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    INFO("key " << key << " in " << value.dump());
    CHECK(value.contains(key));
  }
}

}  // namespace

TEST_CASE("apply, list, revert and status through hotpatchctl on a running target") {
  TempDir dir;
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock");
  std::string socket = daemon.socket_path();
  TargetProcess target(TargetPath("engine_loop"), {"2"});
  target.WaitForLine("ready");
  std::string pid = std::to_string(target.pid());
  std::string bundle = BuildBundleFile("version2", TargetPath("engine_loop"), "version2", dir);

  CtlRun apply = RunCtl({"--socket", socket, "--json", "apply", pid, bundle}, dir);
  INFO(apply.err);
  REQUIRE(apply.exit_code == 0);
  auto applied = apply.Json();
  RequireKeys(applied, {"patch_id", "pid", "placement", "functions", "attempts", "pause_us"});
  CHECK(applied["patch_id"] == "version2");
  CHECK(applied["pid"] == target.pid());
  CHECK(applied["already_applied"] == false);
  CHECK(applied["functions"].size() == 2);
  WaitForVersion(target, 2);
  // The log line says where the pause went (the engine's pause_breakdown).
  daemon.WaitForLogLine({"request apply", "pid=" + pid, "patch=version2", "outcome=ok", "paused ",
                         "(stop ", ", unwind ", ", write ", ", resume "});

  // The same bundle again is a no-op that says so.
  CtlRun again = RunCtl({"--socket", socket, "--json", "apply", pid, bundle}, dir);
  CHECK(again.exit_code == 0);
  CHECK(again.Json()["already_applied"] == true);

  CtlRun list = RunCtl({"--socket", socket, "--json", "list", pid}, dir);
  REQUIRE(list.exit_code == 0);
  auto processes = list.Json()["processes"];
  REQUIRE(processes.size() == 1);
  CHECK(processes[0]["pid"] == target.pid());
  REQUIRE(processes[0]["patches"].size() == 1);
  CHECK(processes[0]["patches"][0]["patch_id"] == "version2");
  CHECK(processes[0]["patches"][0]["effective_state"] == "applied");

  // list without a pid finds the target by its registry mapping.
  CtlRun list_all = RunCtl({"--socket", socket, "--json", "list"}, dir);
  REQUIRE(list_all.exit_code == 0);
  // Held in a variable: a range-for over a member of a temporary would dangle.
  auto all = list_all.Json();
  bool found = false;
  for (const auto& p : all["processes"]) found = found || p["pid"] == target.pid();
  CHECK(found);

  CtlRun table = RunCtl({"--socket", socket, "list", pid}, dir);
  CHECK(table.exit_code == 0);
  CHECK_THAT(table.out,
             Catch::Contains("PATCH") && Catch::Contains("version2") && Catch::Contains("applied"));

  CtlRun status = RunCtl({"--socket", socket, "--json", "status"}, dir);
  REQUIRE(status.exit_code == 0);
  auto s = status.Json();
  RequireKeys(s, {"daemon_version", "daemon_pid", "uptime_s", "requests_served", "in_flight"});
  CHECK(s["requests_served"].get<int>() >= 4);
  CHECK(s["daemon_pid"] == daemon.process().pid());

  CtlRun revert = RunCtl({"--socket", socket, "--json", "revert", pid, "version2"}, dir);
  INFO(revert.err);
  REQUIRE(revert.exit_code == 0);
  CHECK(revert.Json()["reverted"] == nlohmann::json::array({"version2"}));
  WaitForVersion(target, 1);

  CtlRun empty = RunCtl({"--socket", socket, "--json", "list", pid}, dir);
  CHECK(empty.Json()["processes"][0]["patches"].empty());

  // Apply again and revert everything: the readable form this time.
  REQUIRE(
      RunCtl({"--socket", socket, "apply", pid, bundle, "--placement", "mapping"}, dir).exit_code ==
      0);
  CtlRun revert_all = RunCtl({"--socket", socket, "revert", pid, "--all"}, dir);
  CHECK(revert_all.exit_code == 0);
  CHECK_THAT(revert_all.out, Catch::Contains("reverted version2"));
  CHECK(ReadStats(target)["errors"] == 0);
}

TEST_CASE("info reads a bundle locally, without a daemon") {
  TempDir dir;
  std::string bundle = BuildBundleFile("version2", TargetPath("engine_loop"), "v2-info", dir);
  CtlRun json = RunCtl({"--socket", dir.path() + "/none.sock", "--json", "info", bundle}, dir);
  INFO(json.err);
  REQUIRE(json.exit_code == 0);
  auto info = json.Json();
  CHECK(info["patch_id"] == "v2-info");
  CHECK(info["target_module"] == "engine_loop");
  CHECK(info["signature"] == "unsigned");
  CHECK(info["checksum"].get<std::string>().size() == 64);
  CHECK(info["target_build_id"].get<std::string>().size() == 40);
  std::vector<std::string> replaced;
  for (const auto& f : info["replaced"]) replaced.push_back(f["name"]);
  CHECK_THAT(replaced, Catch::UnorderedEquals(std::vector<std::string>{"compute", "version"}));

  CtlRun table = RunCtl({"info", bundle}, dir);
  CHECK(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::Contains("replaced functions") && Catch::Contains("compute"));

  // Not a bundle: a clear bad_bundle, exit 1.
  CtlRun garbage = RunCtl({"--json", "info", HOTPATCHCTL_PATH}, dir);
  CHECK(garbage.exit_code == 1);
  CHECK(garbage.Json()["error"] == "bad_bundle");
}

TEST_CASE("exit codes: usage 2, mismatch 4, busy 3, missing process and missing daemon 1") {
  TempDir dir;
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock");
  std::string socket = daemon.socket_path();

  for (std::vector<std::string> args : {std::vector<std::string>{"frobnicate"},
                                        {"apply", "12"},
                                        {"apply", "x", "b.hpb"},
                                        {"revert", "1", "p", "--all"},
                                        {"list", "1", "2"},
                                        {"status", "--placement", "dead"},
                                        {"apply", "1", "b.hpb", "--timeout", "-3"},
                                        {}}) {
    std::vector<std::string> full = {"--socket", socket, "--json"};
    full.insert(full.end(), args.begin(), args.end());
    CtlRun usage = RunCtl(full, dir);
    INFO("args: " << nlohmann::json(args).dump());
    CHECK(usage.exit_code == 2);
    CHECK(usage.Json()["error"] == "bad_request");
  }

  // A bundle built for engine_loop does not match plain_loop: refused before anything stops.
  TargetProcess other(TargetPath("plain_loop"));
  other.WaitForLine("ready");
  std::string bundle = BuildBundleFile("version2", TargetPath("engine_loop"), "version2", dir);
  CtlRun mismatch =
      RunCtl({"--socket", socket, "--json", "apply", std::to_string(other.pid()), bundle}, dir);
  CHECK(mismatch.exit_code == 4);
  CHECK(mismatch.Json()["error"] == "mismatch");

  // A function that never returns can never pass the safety check: busy at the deadline.
  TargetProcess target(TargetPath("engine_loop"), {"1"});
  target.WaitForLine("ready");
  std::string spin = BuildBundleFile("spin", TargetPath("engine_loop"), "spin", dir);
  CtlRun busy = RunCtl({"--socket", socket, "--json", "apply", std::to_string(target.pid()), spin,
                        "--timeout", "0.5"},
                       dir);
  CHECK(busy.exit_code == 3);
  auto error = busy.Json();
  CHECK(error["error"] == "busy");
  CHECK_THAT(error["message"].get<std::string>(), Catch::Contains("spin"));

  CtlRun nothing =
      RunCtl({"--socket", socket, "--json", "revert", std::to_string(target.pid())}, dir);
  CHECK(nothing.exit_code == 1);
  CHECK(nothing.Json()["error"] == "not_found");

  CtlRun gone = RunCtl({"--socket", socket, "--json", "list", "999999999"}, dir);
  CHECK(gone.exit_code == 1);
  CHECK(gone.Json()["error"] == "no_such_process");

  CtlRun missing_bundle = RunCtl(
      {"--socket", socket, "--json", "apply", std::to_string(target.pid()), dir.path() + "/no.hpb"},
      dir);
  CHECK(missing_bundle.exit_code == 1);
  CHECK(missing_bundle.Json()["error"] == "not_found");
}

TEST_CASE("a daemon that is not running gets a message naming the socket and how to start it") {
  TempDir dir;
  std::string socket = dir.path() + "/nobody-listens.sock";
  CtlRun run = RunCtl({"--socket", socket, "status"}, dir);
  CHECK(run.exit_code == 1);
  CHECK_THAT(run.err, Catch::Contains(socket) && Catch::Contains("not running") &&
                          Catch::Contains("hotpatchd --socket"));
  CtlRun json = RunCtl({"--socket", socket, "--json", "list"}, dir);
  CHECK(json.exit_code == 1);
  CHECK_THAT(json.Json()["message"].get<std::string>(), Catch::Contains(socket));
}

}  // namespace hotpatch::test
