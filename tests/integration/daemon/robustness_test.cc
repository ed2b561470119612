// Clients that misbehave — malformed, oversized, cut off, killed, silent — never disturb the
// others, and many clients at once are all served.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <thread>

#include "daemon_fixture.h"

namespace hotpatch::test {
namespace {

// A forked child that is SIGKILLed and reaped on destruction.
class ForkedClient {
 public:
  explicit ForkedClient(pid_t pid) : pid_(pid) {}
  ~ForkedClient() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_;
};

int ConnectRaw(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

nlohmann::json Exchange(const std::string& socket, const std::string& bytes) {
  std::string answer = RawExchange(socket, bytes);
  INFO("answer: " << answer);
  auto value = nlohmann::json::parse(answer, nullptr, false);
  REQUIRE(value.is_object());
  return value;
}

void RequireStatusWorks(const std::string& socket) {
  auto status = Exchange(socket, "{\"version\":1,\"command\":\"status\"}\n");
  REQUIRE(status["ok"] == true);
}

}  // namespace

TEST_CASE("malformed requests get bad_request naming the problem; the daemon serves on") {
  TempDir dir;
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock");
  std::string socket = daemon.socket_path();

  auto unknown = Exchange(socket, "{\"version\":1,\"command\":\"reboot\"}\n");
  CHECK(unknown["error"] == "bad_request");
  CHECK_THAT(unknown["message"].get<std::string>(), Catch::Contains("'command'"));
  auto wrong_type = Exchange(socket, "{\"version\":1,\"command\":\"list\",\"pid\":\"1\"}\n");
  CHECK_THAT(wrong_type["message"].get<std::string>(), Catch::Contains("'pid'"));
  auto missing = Exchange(socket, "{\"version\":1,\"command\":\"revert\"}\n");
  CHECK_THAT(missing["message"].get<std::string>(), Catch::Contains("'pid'"));
  CHECK(Exchange(socket, "not json at all\n")["error"] == "bad_request");
  CHECK(Exchange(socket, "{\"version\":9,\"command\":\"status\"}\n")["error"] == "unsupported");
  // Cut off by end of file (the client half-closed without a newline).
  CHECK(Exchange(socket, "{\"version\":1,\"comm")["error"] == "bad_request");

  // Oversized: refused at the limit, without reading (or buffering) the rest.
  auto oversized = Exchange(socket, std::string(200 * 1024, ' ') + "\n");
  CHECK(oversized["error"] == "bad_request");
  CHECK_THAT(oversized["message"].get<std::string>(), Catch::Contains("65536"));
  daemon.WaitForLogLine({"outcome=bad_request", "65536"});

  RequireStatusWorks(socket);
}

TEST_CASE("a client killed mid-request and a silent one do not disturb the others") {
  TempDir dir;
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock", {"--request-timeout-ms", "1500"});
  std::string socket = daemon.socket_path();

  // Half a line, then SIGKILL: the kernel closes the socket under the daemon's reader.
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    int fd = ConnectRaw(socket);
    const char half[] = "{\"version\":1,\"command\":\"li";
    if (fd < 0 || write(fd, half, sizeof half - 1) < 0) _exit(1);
    (void)!write(ready[1], "x", 1);
    for (;;) pause();
  }
  ForkedClient killed(child);
  close(ready[1]);
  char byte;
  REQUIRE(read(ready[0], &byte, 1) == 1);
  close(ready[0]);

  // A silent client holds its connection open (it will run into the request timeout).
  int silent = ConnectRaw(socket);
  REQUIRE(silent >= 0);

  RequireStatusWorks(socket);
  kill(killed.pid(), SIGKILL);
  daemon.WaitForLogLine({"outcome=bad_request", "closed in the middle"});
  RequireStatusWorks(socket);

  // The silent one is dropped at its deadline with an error, and logged as abandoned.
  daemon.WaitForLogLine({"outcome=abandoned"});
  char answer[512];
  ssize_t n = recv(silent, answer, sizeof answer, 0);
  CHECK(n > 0);
  close(silent);
  RequireStatusWorks(socket);
}

TEST_CASE("beyond --max-connections a client gets busy at once, and is served again later") {
  TempDir dir;
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock", {"--max-connections", "2"});
  std::string socket = daemon.socket_path();
  int first = ConnectRaw(socket);
  int second = ConnectRaw(socket);
  REQUIRE(first >= 0);
  REQUIRE(second >= 0);
  // Both slots are taken once the daemon accepted them; the log shows the refusal.
  nlohmann::json refused;
  for (int i = 0; i < 500; ++i) {
    refused = Exchange(socket, "{\"version\":1,\"command\":\"status\"}\n");
    if (refused["ok"] == false) break;
  }
  CHECK(refused["error"] == "busy");
  daemon.WaitForLogLine({"refused a connection"});
  close(first);
  close(second);
  // The closed connections end their threads (end of file before a request); slots free up.
  for (int i = 0;; ++i) {
    REQUIRE(i < 500);
    if (Exchange(socket, "{\"version\":1,\"command\":\"status\"}\n")["ok"] == true) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

TEST_CASE("50 concurrent clients are all served") {
  TempDir dir;
  RunningDaemon daemon(dir.path() + "/hotpatchd.sock");
  std::string socket = daemon.socket_path();
  // Two targets: applies to different pids run in parallel, to one pid one after the other.
  TargetProcess first(TargetPath("engine_loop"), {"1"});
  TargetProcess second(TargetPath("engine_loop"), {"1"});
  first.WaitForLine("ready");
  second.WaitForLine("ready");
  std::string bundle = BuildBundleFile("version2", TargetPath("engine_loop"), "version2", dir);

  constexpr int kClients = 50;
  std::vector<TargetProcess> clients;
  std::vector<std::string> stderr_files;
  for (int i = 0; i < kClients; ++i) {
    std::vector<std::string> args = {"--socket", socket, "--json"};
    pid_t pid = (i % 2 ? first : second).pid();
    switch (i % 5) {
      case 0:
        args.insert(args.end(), {"apply", std::to_string(pid), bundle});
        break;
      case 1:
        args.insert(args.end(), {"list", std::to_string(pid)});
        break;
      case 2:
        args.insert(args.end(), {"list"});
        break;
      default:
        args.insert(args.end(), {"status"});
        break;
    }
    stderr_files.push_back(dir.path() + "/client-" + std::to_string(i));
    clients.push_back(StartCtl(args, stderr_files.back()));
  }
  for (int i = 0; i < kClients; ++i) {
    CtlRun run = FinishCtl(clients[i], stderr_files[i]);
    INFO("client " << i << ": " << run.out << run.err);
    CHECK(run.exit_code == 0);
    CHECK(run.Json()["ok"] == true);
  }
  // Every apply after the first on a pid found it applied: serialized, never interleaved.
  for (auto* target : {&first, &second}) {
    CtlRun list =
        RunCtl({"--socket", socket, "--json", "list", std::to_string(target->pid())}, dir);
    CHECK(list.Json()["processes"][0]["patches"].size() == 1);
    CHECK(ReadStats(*target)["errors"] == 0);
  }
  RequireStatusWorks(socket);
}

}  // namespace hotpatch::test
