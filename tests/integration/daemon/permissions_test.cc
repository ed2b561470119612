// Who may do what, decided from the peer's credentials (SO_PEERCRED): an unprivileged caller
// (really running as nobody) reads but does not change processes, the admin group may, and a
// bundle named by path must be one the caller could have handed over.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>

#include "daemon_fixture.h"

namespace hotpatch::test {

TEST_CASE("nobody may list and ask for status, but apply and revert are refused with exit 5") {
  TempDir dir;
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock");
  std::string socket = daemon.socket_path();
  TargetProcess target(TargetPath("engine_loop"), {"1"});
  target.WaitForLine("ready");
  std::string pid = std::to_string(target.pid());
  std::string bundle = BuildBundleFile("version2", TargetPath("engine_loop"), "version2", dir);

  CtlRun apply = RunCtl({"--socket", socket, "--json", "apply", pid, bundle}, dir, Caller::kNobody);
  CHECK(apply.exit_code == 5);
  auto error = apply.Json();
  CHECK(error["error"] == "permission_denied");
  // Refused by the daemon (not by a file it could not open): it names the caller's uid.
  CHECK_THAT(error["message"].get<std::string>(), Catch::Contains("uid 65534"));
  daemon.WaitForLogLine(
      {"request apply", "caller_uid=65534", "pid=" + pid, "outcome=permission_denied"});

  CtlRun revert = RunCtl({"--socket", socket, "revert", pid, "--all"}, dir, Caller::kNobody);
  CHECK(revert.exit_code == 5);
  CHECK_THAT(revert.err, Catch::Contains("permission_denied"));
  daemon.WaitForLogLine({"request revert", "caller_uid=65534", "outcome=permission_denied"});

  // Installing decides what the daemon applies, as root, to every process: the same rule.
  CtlRun install = RunCtl({"--socket", socket, "install", bundle}, dir, Caller::kNobody);
  CHECK(install.exit_code == 5);
  CtlRun uninstall = RunCtl({"--socket", socket, "uninstall", "version2"}, dir, Caller::kNobody);
  CHECK(uninstall.exit_code == 5);
  daemon.WaitForLogLine({"request uninstall", "caller_uid=65534", "outcome=permission_denied"});

  CtlRun status = RunCtl({"--socket", socket, "--json", "status"}, dir, Caller::kNobody);
  CHECK(status.exit_code == 0);
  CtlRun list = RunCtl({"--socket", socket, "--json", "list", pid}, dir, Caller::kNobody);
  CHECK(list.exit_code == 0);
  CHECK(list.Json()["processes"][0]["patches"].empty());  // nothing was applied

  // The same requests from root go through.
  CHECK(RunCtl({"--socket", socket, "apply", pid, bundle}, dir).exit_code == 0);
  CtlRun listed = RunCtl({"--socket", socket, "--json", "list", pid}, dir, Caller::kNobody);
  CHECK(listed.Json()["processes"][0]["patches"][0]["patch_id"] == "version2");
}

TEST_CASE("members of --admin-group may apply and revert") {
  TempDir dir;
  // nobody's primary group is nogroup (65534) on Debian.
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock", {"--admin-group", "nogroup"});
  TargetProcess target(TargetPath("engine_loop"), {"1"});
  target.WaitForLine("ready");
  std::string pid = std::to_string(target.pid());
  std::string bundle = BuildBundleFile("version2", TargetPath("engine_loop"), "version2", dir);
  CtlRun apply = RunCtl({"--socket", daemon.socket_path(), "--json", "apply", pid, bundle}, dir,
                        Caller::kNobody);
  INFO(apply.out << apply.err);
  CHECK(apply.exit_code == 0);
  CtlRun revert = RunCtl({"--socket", daemon.socket_path(), "revert", pid}, dir, Caller::kNobody);
  CHECK(revert.exit_code == 0);
}

TEST_CASE("an unknown --admin-group is a usage error of hotpatchd") {
  TempDir dir;
  TargetProcess daemon("/bin/sh", {"-c", "exec " + ShellQuote(HOTPATCHD_PATH) + " --socket " +
                                             ShellQuote(dir.path() + "/s.sock") +
                                             " --admin-group no-such-group-here 2>&1"});
  CHECK_THAT(daemon.ReadLine(), Catch::Contains("no-such-group-here"));
  int status = daemon.WaitForExit();
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 2);
}

TEST_CASE(
    "bundle_path is accepted only for files the caller owns (or root) that others cannot "
    "write, and never through a symlink") {
  TempDir dir;
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock");
  std::string bundle = BuildBundleFile("version2", TargetPath("engine_loop"), "v2path", dir);
  auto info = [&](const std::string& path) {
    return nlohmann::json::parse(RawExchange(
        daemon.socket_path(), R"({"version":1,"command":"info","bundle_path":")" + path + "\"}\n"));
  };

  auto ok = info(bundle);
  INFO(ok.dump());
  CHECK(ok["ok"] == true);
  CHECK(ok["patch_id"] == "v2path");

  std::string link = dir.path() + "/link.hpb";
  REQUIRE(symlink(bundle.c_str(), link.c_str()) == 0);
  CHECK(info(link)["error"] == "permission_denied");

  std::string shared = dir.path() + "/shared.hpb";
  REQUIRE(std::system(("cp " + bundle + " " + shared).c_str()) == 0);
  REQUIRE(chmod(shared.c_str(), 0666) == 0);
  auto writable = info(shared);
  CHECK(writable["error"] == "permission_denied");
  CHECK_THAT(writable["message"].get<std::string>(), Catch::Contains("writable by others"));

  // Owned by another user (uid 1, "daemon"): the root caller cannot make hotpatchd trust it.
  std::string foreign = dir.path() + "/foreign.hpb";
  REQUIRE(std::system(("cp " + bundle + " " + foreign).c_str()) == 0);
  REQUIRE(chown(foreign.c_str(), 1, 1) == 0);
  CHECK(info(foreign)["error"] == "permission_denied");

  // A FIFO must not block the daemon's thread: O_NONBLOCK, then "not a regular file".
  std::string fifo = dir.path() + "/fifo.hpb";
  REQUIRE(mkfifo(fifo.c_str(), 0644) == 0);
  CHECK(info(fifo)["error"] == "permission_denied");

  CHECK(info(dir.path() + "/missing.hpb")["error"] == "not_found");
  // bundle_fd promised but no descriptor sent.
  auto no_fd = nlohmann::json::parse(RawExchange(
      daemon.socket_path(), "{\"version\":1,\"command\":\"info\",\"bundle_fd\":true}\n"));
  CHECK(no_fd["error"] == "bad_request");
}

}  // namespace hotpatch::test
