// A target that keeps creating processes (fork, posix_spawn, and a clone whose exit signal is not
// SIGCHLD, which PTRACE_O_TRACECLONE attaches to us) that exec while we apply and revert: none of
// them may be left traced by us or stopped, and the target's threads all run on.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>

#include "base/error.h"
#include "engine/engine.h"
#include "hostile_fixture.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

// Children of `parent` (PPid in their status) that are traced or stopped, described.
std::string ChildrenTracedOrStopped(pid_t parent) {
  std::string found;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", error)) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    std::string line;
    pid_t ppid = 0;
    while (std::getline(status, line))
      if (line.rfind("PPid:", 0) == 0) ppid = std::stoi(line.substr(5));
    if (ppid == parent) found += TracedOrStoppedThreads(std::stoi(name));
  }
  return found;
}

}  // namespace

namespace {

void ApplyAndRevertCycles(TargetProcess& target, int cycles) {
  auto bundle = BuildPatchBundle("version2", TargetPath("hostile_forker"), "version2");
  auto code_before = SnapshotExecutableCode(target.pid());
  long spawned_before = ReadStats(target)["spawned"];
  for (int cycle = 0; cycle < cycles; ++cycle) {
    INFO("cycle " << cycle);
    ApplyBundle(target.pid(), bundle, {});
    CHECK(ProcessesTracedBy(getpid()).empty());
    CHECK(ChildrenTracedOrStopped(target.pid()).empty());
    CHECK(TracedOrStoppedThreads(target.pid()).empty());
    WaitForVersion(target, 2);
    RevertPatches(target.pid(), {});
    CHECK(ProcessesTracedBy(getpid()).empty());
    CHECK(ChildrenTracedOrStopped(target.pid()).empty());
    CHECK(TracedOrStoppedThreads(target.pid()).empty());
    WaitForVersion(target, 1);
  }
  auto stats = ReadStats(target);
  CHECK(stats["spawned"] > spawned_before);  // processes really were being created meanwhile
  CHECK(stats["failed"] == 0);
  CHECK(stats["errors"] == 0);
  CHECK(SnapshotExecutableCode(target.pid()) == code_before);
}

}  // namespace

TEST_CASE("children forked and spawned during apply and revert are not left traced or stopped") {
  TargetProcess target(TargetPath("hostile_forker"), {"fork-spawn"});
  target.WaitForLine("ready");
  ApplyAndRevertCycles(target, 5);
}

// A clone() that is not a thread (no CLONE_THREAD, exit signal not SIGCHLD) is attached to us by
// PTRACE_O_TRACECLONE. It must be let go at its birth stop, before it runs an instruction, not
// kept or stopped with the target's threads. (Before the fix, such children, after their exec,
// were taken for threads of the target and made the apply busy; see docs/hardening.md.)
TEST_CASE("a process cloned during the attachment is let go at birth, not taken for a thread") {
  TargetProcess target(TargetPath("hostile_forker"), {"clone-when-traced"});
  target.WaitForLine("ready");
  // An attachment lasts a few milliseconds; on a loaded machine the cloning thread may not get a
  // CPU inside one, so go on until a clone fell inside (bounded).
  std::map<std::string, long> stats;
  for (int round = 0; round < 10 && stats["cloned_while_traced"] == 0; ++round) {
    ApplyAndRevertCycles(target, 3);
    stats = ReadStats(target);
  }
  // Clones made with our tracer attached before and after the call: the path ran...
  CHECK(stats["cloned_while_traced"] > 0);
  // ...and none of those children still had a tracer when it ran its first instructions.
  CHECK(stats["traced_at_birth"] == 0);
}

// With raw clones at random times this failed one run in four before clones that are not
// threads were let go at birth (docs/hardening.md, "a cloned process taken for a thread").
TEST_CASE("clones at random times during apply and revert are let go", "[clone-storm]") {
  TargetProcess target(TargetPath("hostile_forker"), {"clone-storm"});
  target.WaitForLine("ready");
  ApplyAndRevertCycles(target, 10);
}
