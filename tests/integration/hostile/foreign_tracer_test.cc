// A target some other tracer holds (a debugger, strace): ptrace allows one tracer per thread, so
// the engine must refuse clearly, and leave behind nothing it seized before it noticed: no thread
// of ours traced, none stopped, no byte changed.
#include <sys/ptrace.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <string>

#include "base/error.h"
#include "engine/engine.h"
#include "hostile_fixture.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

// A child of the test that PTRACE_SEIZEs one thread of the target and holds it until killed. A
// seized thread keeps running: the target works on while we try.
pid_t StartForeignTracer(pid_t tid) {
  int ready[2];
  REQUIRE(pipe(ready) == 0);
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    char result = ptrace(PTRACE_SEIZE, tid, 0, 0) == 0 ? 'y' : 'n';
    (void)!write(ready[1], &result, 1);
    for (;;) pause();
  }
  close(ready[1]);
  char result = 'n';
  (void)!read(ready[0], &result, 1);
  close(ready[0]);
  REQUIRE(result == 'y');
  return child;
}

// strace attaching every thread (PTRACE_SEIZE since strace 4.x), as an operator would do. Returns
// once every thread of `pid` shows it as tracer; 0 if strace is not installed.
pid_t StartStrace(pid_t pid) {
  if (access("/usr/bin/strace", X_OK) != 0) return 0;
  pid_t child = fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    std::string target = std::to_string(pid);
    execl("/usr/bin/strace", "strace", "-q", "-f", "-o", "/dev/null", "-p", target.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return child;
}

bool EveryThreadTracedBy(pid_t pid, pid_t tracer) {
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    auto state = TryReadTraceState(pid, std::stoi(entry.path().filename()));
    if (!state || state->tracer != tracer) return false;
  }
  return true;
}

pid_t SomeNonLeaderThread(pid_t pid) {
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task")) {
    pid_t tid = std::stoi(entry.path().filename());
    if (tid != pid) return tid;
  }
  FAIL("no second thread in pid " << pid);
  return 0;
}

void CheckRefusedAndUntouched(TargetProcess& target, pid_t traced_tid, pid_t tracer) {
  auto code_before = SnapshotExecutableCode(target.pid());
  auto bundle = BuildPatchBundle("version2", TargetPath("hostile_copy"), "version2");
  try {
    ApplyBundle(target.pid(), bundle, {});
    FAIL("applied to a target another tracer holds");
  } catch (const Error& e) {
    INFO(e.what());
    CHECK(e.code() == ErrorCode::kPermissionDenied);
    CHECK(std::string(e.what()).find("traced by") != std::string::npos);
    CHECK(std::string(e.what()).find(std::to_string(tracer)) != std::string::npos);
  }
  // Threads seized before the engine met the foreign one must have been let go, running.
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(target.pid()) + "/task")) {
    pid_t tid = std::stoi(entry.path().filename());
    auto state = TryReadTraceState(target.pid(), tid);
    REQUIRE(state);
    INFO("tid " << tid << " state " << state->state << " TracerPid " << state->tracer);
    CHECK(state->tracer == (tid == traced_tid ? tracer : 0));
    CHECK(state->state != 't');
    CHECK(state->state != 'T');
  }
  CHECK(ProcessesTracedBy(getpid()).empty());
  CHECK(SnapshotExecutableCode(target.pid()) == code_before);
  long calls = ReadStats(target)["calls"];
  WaitForVersion(target, 1);
  CHECK(ReadStats(target)["calls"] > calls);
}

}  // namespace

TEST_CASE("a target whose main thread another tracer holds is refused, nothing changed") {
  TargetProcess target(TargetPath("hostile_copy"));
  target.WaitForLine("ready");
  ChildProcessGuard tracer(StartForeignTracer(target.pid()));
  CheckRefusedAndUntouched(target, target.pid(), tracer.pid());
}

TEST_CASE("a target whose second thread another tracer holds is refused, nothing changed") {
  TargetProcess target(TargetPath("hostile_copy"));
  target.WaitForLine("ready");
  pid_t worker = SomeNonLeaderThread(target.pid());
  ChildProcessGuard tracer(StartForeignTracer(worker));
  CheckRefusedAndUntouched(target, worker, tracer.pid());
}

TEST_CASE("a target strace is attached to is refused, nothing changed") {
  TargetProcess target(TargetPath("hostile_copy"));
  target.WaitForLine("ready");
  pid_t strace_pid = StartStrace(target.pid());
  if (strace_pid == 0) {
    WARN("SKIPPED: /usr/bin/strace is not installed");
    return;
  }
  ChildProcessGuard strace(strace_pid);
  for (int i = 0; i < 1000 && !EveryThreadTracedBy(target.pid(), strace.pid()); ++i) usleep(10000);
  REQUIRE(EveryThreadTracedBy(target.pid(), strace.pid()));
  auto code_before = SnapshotExecutableCode(target.pid());
  auto bundle = BuildPatchBundle("version2", TargetPath("hostile_copy"), "version2");
  try {
    ApplyBundle(target.pid(), bundle, {});
    FAIL("applied to a target strace holds");
  } catch (const Error& e) {
    INFO(e.what());
    CHECK(e.code() == ErrorCode::kPermissionDenied);
    CHECK(std::string(e.what()).find("traced by") != std::string::npos);
  }
  CHECK(EveryThreadTracedBy(target.pid(), strace.pid()));
  CHECK(ProcessesTracedBy(getpid()).empty());
  CHECK(SnapshotExecutableCode(target.pid()) == code_before);
  WaitForVersion(target, 1);
}
