#include "daemon_fixture.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "base/unique_fd.h"

namespace hotpatch::test {
namespace {

std::string RunShell(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, pipe)) > 0) output.append(chunk, n);
  if (pclose(pipe) != 0) throw std::runtime_error("command failed: " + command + "\n" + output);
  return output;
}

UniqueFd ConnectTo(const std::string& socket_path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, socket_path.c_str(), sizeof address.sun_path - 1);
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0)
    return UniqueFd();
  return fd;
}

}  // namespace

TempDir::TempDir() {
  char dir_template[] = "/tmp/hotpatch-daemon-test-XXXXXX";
  if (mkdtemp(dir_template) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = dir_template;
  chmod(path_.c_str(), 0755);
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string ShellQuote(const std::string& word) {
  std::string quoted = "'";
  for (char c : word) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

void WaitForSocket(const std::string& socket_path, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ConnectTo(socket_path).valid()) {
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("nothing accepts connections on " + socket_path);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

RunningDaemon::RunningDaemon(const std::string& socket_path,
                             const std::vector<std::string>& extra_args)
    : socket_path_(socket_path) {
  // exec keeps the pid, so TargetProcess kills hotpatchd itself; 2>&1 makes the request log
  // (stderr outside systemd) readable through the stdout pipe.
  std::string command =
      "exec " + ShellQuote(HOTPATCHD_PATH) + " --socket " + ShellQuote(socket_path);
  // A private state dir next to the socket unless the test names one: installed bundles of the
  // machine's (or another test's) daemon must not leak in.
  if (std::find(extra_args.begin(), extra_args.end(), "--state-dir") == extra_args.end())
    command += " --state-dir " +
               ShellQuote(std::filesystem::path(socket_path).parent_path().string() + "/state");
  for (const auto& arg : extra_args) command += " " + ShellQuote(arg);
  // No journal even if the test runs under systemd: the log must come to the pipe.
  command = "unset JOURNAL_STREAM INVOCATION_ID; " + command + " 2>&1";
  process_.emplace("/bin/sh", std::vector<std::string>{"-c", command});
  WaitForLogLine({"listening on"});
  WaitForSocket(socket_path, std::chrono::seconds(10));
}

std::string RunningDaemon::WaitForLogLine(const std::vector<std::string>& needles) {
  // A deadline for the whole wait, not per line: the install watcher may log a line every few
  // seconds forever, and none of them the one wanted.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) throw std::runtime_error("no hotpatchd log line with the expected text");
    std::string line = process_->ReadLine(left);
    bool all = true;
    for (const auto& needle : needles) all = all && line.find(needle) != std::string::npos;
    if (all) return line;
  }
}

nlohmann::json CtlRun::Json() const {
  INFO("stdout: " << out << "\nstderr: " << err);
  auto newline = out.find('\n');
  REQUIRE(newline != std::string::npos);
  REQUIRE(newline + 1 == out.size());  // exactly one line: one JSON object
  auto value = nlohmann::json::parse(out, nullptr, false);
  REQUIRE(value.is_object());
  return value;
}

TargetProcess StartCtl(const std::vector<std::string>& args, const std::string& stderr_file,
                       Caller caller) {
  std::string command = "exec ";
  // setpriv: real uid/gid of nobody, no supplementary groups, as a real unprivileged user.
  if (caller == Caller::kNobody) command += "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  command += ShellQuote(HOTPATCHCTL_PATH);
  for (const auto& arg : args) command += " " + ShellQuote(arg);
  command += " 2>" + ShellQuote(stderr_file);
  return TargetProcess("/bin/sh", {"-c", command});
}

CtlRun FinishCtl(TargetProcess& ctl, const std::string& stderr_file) {
  CtlRun run;
  int status = ctl.WaitForExit(std::chrono::seconds(90));
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  // The process has exited: everything it wrote is in the pipe; end of file ends the loop.
  try {
    for (;;) run.out += ctl.ReadLine(std::chrono::seconds(5)) + "\n";
  } catch (const std::runtime_error&) {
  }
  std::ifstream err(stderr_file);
  std::stringstream text;
  text << err.rdbuf();
  run.err = text.str();
  return run;
}

CtlRun RunCtl(const std::vector<std::string>& args, const TempDir& scratch, Caller caller) {
  static std::atomic<int> counter{0};
  std::string stderr_file = scratch.path() + "/ctl-stderr-" + std::to_string(++counter);
  TargetProcess ctl = StartCtl(args, stderr_file, caller);
  return FinishCtl(ctl, stderr_file);
}

std::string RawExchange(const std::string& socket_path, const std::string& bytes) {
  UniqueFd fd = ConnectTo(socket_path);
  REQUIRE(fd.valid());
  timeval timeout{20, 0};
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd.get(), bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the daemon may refuse an oversized line before reading all of it
    sent += static_cast<size_t>(n);
  }
  shutdown(fd.get(), SHUT_WR);
  std::string answer;
  char chunk[4096];
  ssize_t n;
  while ((n = recv(fd.get(), chunk, sizeof chunk, 0)) > 0) answer.append(chunk, n);
  return answer.substr(0, answer.find('\n'));
}

std::string BuildBundleFile(const std::string& name, const std::string& target,
                            const std::string& id, const TempDir& dir) {
  return BuildBundleFromSource("tests/integration/engine/patches/" + name + ".c", target, id, dir);
}

std::string BuildBundleFromSource(const std::string& relative_source, const std::string& target,
                                  const std::string& id, const TempDir& dir) {
  std::string source = SourceDir() + "/" + relative_source;
  std::string object = dir.path() + "/" + id + ".o";
  std::string bundle = dir.path() + "/" + id + ".hpb";
  // The flags the engine tests use: position-independent, one section per function and object,
  // frame pointers like the test targets (a walk through patch code uses the bundle's own CFI
  // either way: patch_cfi_test.cc builds one without).
  RunShell("cc -O2 -g -fPIE -ffunction-sections -fdata-sections -fno-omit-frame-pointer -c " +
           ShellQuote(source) + " -o " + ShellQuote(object));
  RunShell(ShellQuote(BinaryDir() + "/patchgen/hotpatch-gen") + " pack --target " +
           ShellQuote(target) + " --object " + ShellQuote(object) + " --id " + ShellQuote(id) +
           " -o " + ShellQuote(bundle));
  chmod(bundle.c_str(), 0644);
  return bundle;
}

}  // namespace hotpatch::test
