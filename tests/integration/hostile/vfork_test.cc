// A target with a thread the kernel will not stop: it sleeps in vfork() (TASK_KILLABLE) until its
// child execs or exits, and takes our PTRACE_INTERRUPT only on its way back to user mode. An engine
// that waits for every thread without a bound hangs on it forever (and so would a daemon's worker).
// The engine must give up at its deadline with an error that names the thread, and leave the
// target as it was. The engine runs in a child process here, so that a hang fails the test instead
// of hanging the suite.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "base/error.h"
#include "engine/engine.h"
#include "hostile_fixture.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

// Outcome of one ApplyBundle run in a child process: "applied" or "error CODE MESSAGE".
struct ChildOutcome {
  bool finished = false;
  std::string text;
};

ChildOutcome ApplyInChildProcess(pid_t pid, const std::vector<uint8_t>& bundle,
                                 std::chrono::milliseconds engine_timeout,
                                 std::chrono::milliseconds give_up_after,
                                 bundle::Placement placement = bundle::Placement::kAuto) {
  int result_pipe[2];
  REQUIRE(pipe(result_pipe) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    close(result_pipe[0]);
    std::string text;
    try {
      ApplyOptions options;
      options.timeout = engine_timeout;
      options.placement = placement;
      ApplyBundle(pid, bundle, options);
      text = "applied";
    } catch (const Error& e) {
      text = "error " + std::to_string(static_cast<int>(e.code())) + " " + e.what();
    } catch (const std::exception& e) {
      text = std::string("exception ") + e.what();
    }
    (void)!write(result_pipe[1], text.data(), text.size());
    _exit(0);
  }
  close(result_pipe[1]);
  ChildProcessGuard engine(child);
  ChildOutcome outcome;
  int status = 0;
  outcome.finished = engine.TryWaitForExit(give_up_after, &status);
  if (outcome.finished) {
    char chunk[4096];
    ssize_t n;
    while ((n = read(result_pipe[0], chunk, sizeof chunk)) > 0) outcome.text.append(chunk, n);
  }
  close(result_pipe[0]);
  return outcome;  // the guard kills an engine that is still stuck; the kernel then detaches it
}

}  // namespace

TEST_CASE(
    "a thread blocked in vfork: the apply gives up at its deadline naming it, nothing changed") {
  std::string path = TargetPath("hostile_vfork");
  TargetProcess target(path);
  std::string ready = target.WaitForLine("ready");
  std::string vforker = ready.substr(ready.find("vforker=") + 8);
  auto code_before = SnapshotExecutableCode(target.pid());
  auto bundle = BuildPatchBundle("version2", path, "version2");

  auto outcome =
      ApplyInChildProcess(target.pid(), bundle, std::chrono::seconds(2), std::chrono::seconds(15));
  INFO("engine outcome: " << outcome.text);
  CHECK(outcome.finished);  // false: the engine waited unboundedly for the vforked thread
  if (outcome.finished) {
    std::string busy = "error " + std::to_string(static_cast<int>(ErrorCode::kBusy)) + " ";
    CHECK(outcome.text.rfind(busy, 0) == 0);
    CHECK(outcome.text.find("tid " + vforker) != std::string::npos);
  }
  // Whatever happened, nothing of it remains.
  CHECK(TracedOrStoppedThreads(target.pid()).empty());
  CHECK(SnapshotExecutableCode(target.pid()) == code_before);
  WaitForVersion(target, 1);
  CHECK(ReadStats(target)["errors"] == 0);
}

// The same refusal when the target already has a registry and the placement was written before
// the flip stop failed: the prepared code and record are unreachable from the target's code, so
// the roll-back restores them while the target runs — it could not be stopped to do it.
TEST_CASE("a thread blocked in vfork after an earlier patch: the prepared patch is rolled back "
          "without a stop") {
  std::string path = TargetPath("hostile_vfork");
  TargetProcess target(path, {"later"});
  target.WaitForLine("ready");
  auto bundle = BuildPatchBundle("version2", path, "version2");
  // An apply and revert first: the registry exists, so the next apply needs no stop before its
  // flip stop and writes its placement while the target runs.
  // The reserved area, not a mapping: a mapping could only be removed inside a stop.
  ApplyOptions reserved;
  reserved.placement = bundle::Placement::kReserved;
  auto first = ApplyBundle(target.pid(), bundle, reserved);
  REQUIRE(first.placement == "reserved");
  RevertPatches(target.pid(), {});
  auto code_before = SnapshotExecutableCode(target.pid());
  kill(target.pid(), SIGUSR2);
  std::string blocked = target.WaitForLine("blocked");
  std::string vforker = blocked.substr(blocked.find("vforker=") + 8);

  auto outcome =
      ApplyInChildProcess(target.pid(), bundle, std::chrono::seconds(1), std::chrono::seconds(15),
                          bundle::Placement::kReserved);
  INFO("engine outcome: " << outcome.text);
  REQUIRE(outcome.finished);
  std::string busy = "error " + std::to_string(static_cast<int>(ErrorCode::kBusy)) + " ";
  CHECK(outcome.text.rfind(busy, 0) == 0);
  CHECK(outcome.text.find("tid " + vforker) != std::string::npos);
  CHECK(outcome.text.find("rolling back failed") == std::string::npos);
  CHECK(TracedOrStoppedThreads(target.pid()).empty());
  CHECK(SnapshotExecutableCode(target.pid()) == code_before);
  CHECK(ListPatches(target.pid()).empty());
  WaitForVersion(target, 1);
  CHECK(ReadStats(target)["errors"] == 0);
}
