// The systemd integration for real: socket activation through systemd-socket-activate, and the
// unit files checked by systemd-analyze verify.
#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <sstream>

#include "daemon_fixture.h"

namespace hotpatch::test {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

}  // namespace

TEST_CASE("socket activation: systemd-socket-activate passes the socket, hotpatchd serves it") {
  TempDir dir;
  std::string socket = dir.path() + "/activated.sock";
  // No --socket: under activation the daemon must use the socket it was given (fd 3). The
  // bogus HOTPATCH_SOCKET proves it does not bind a path of its own.
  TargetProcess activator(
      "/bin/sh", {"-c", "unset JOURNAL_STREAM INVOCATION_ID; exec systemd-socket-activate -l " +
                            ShellQuote(socket) + " -E HOTPATCH_SOCKET=" +
                            ShellQuote(dir.path() + "/unused") + " " + ShellQuote(HOTPATCHD_PATH) +
                            " --state-dir " + ShellQuote(dir.path() + "/state") + " 2>&1"});
  WaitForSocket(socket, std::chrono::seconds(10));
  // The first connection starts hotpatchd; it serves that very connection.
  CtlRun status = RunCtl({"--socket", socket, "--json", "status"}, dir);
  INFO(status.out << status.err);
  REQUIRE(status.exit_code == 0);
  // systemd-socket-activate execs the daemon in its own process (no --accept).
  CHECK(status.Json()["daemon_pid"] == activator.pid());
  CHECK_THAT(activator.WaitForLine("hotpatchd: hotpatchd"), Catch::Contains("from systemd"));
  CHECK(RunCtl({"--socket", socket, "list"}, dir).exit_code == 0);
  struct stat st {};
  CHECK(lstat((dir.path() + "/unused").c_str(), &st) != 0);
}

TEST_CASE("systemd-analyze verify accepts the unit files") {
  TempDir dir;
  // systemd-analyze checks that ExecStart names an executable: point it at the built daemon,
  // the rest of the units is verified as shipped.
  std::string service = ReadFile(SourceDir() + "/daemon/systemd/hotpatchd.service");
  auto at = service.find("/usr/local/sbin/hotpatchd");
  REQUIRE(at != std::string::npos);
  service.replace(at, std::string("/usr/local/sbin/hotpatchd").size(), HOTPATCHD_PATH);
  WriteFile(dir.path() + "/hotpatchd.service", service);
  WriteFile(dir.path() + "/hotpatchd.socket",
            ReadFile(SourceDir() + "/daemon/systemd/hotpatchd.socket"));

  if (std::system("systemd-analyze --version >/dev/null 2>&1") != 0) {
    WARN("systemd-analyze cannot run in this environment: unit files not verified");
    return;
  }
  std::string output_file = dir.path() + "/verify.out";
  int status = std::system(("cd " + ShellQuote(dir.path()) +
                            " && systemd-analyze verify ./hotpatchd.socket ./hotpatchd.service >" +
                            ShellQuote(output_file) + " 2>&1")
                               .c_str());
  std::string output = ReadFile(output_file);
  INFO(output);
  CHECK(WEXITSTATUS(status) == 0);
  CHECK(output.empty());  // not even a warning
}

}  // namespace hotpatch::test
