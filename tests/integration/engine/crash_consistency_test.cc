// A killed engine leaves the target running either as before or fully patched — never half —
// and a fresh engine tells which and finishes the job (design §6 "Crash consistency").
#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "engine/engine.h"
#include "engine_fixture.h"
#include "process/maps.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

// Runs `engine_work` in a child process with HOTPATCH_FAULT_INJECT=`step`; the child must die by
// SIGKILL at that step.
void RunEngineKilledAt(const std::string& step, const std::function<void()>& engine_work) {
  pid_t engine = fork();
  REQUIRE(engine >= 0);
  if (engine == 0) {
    setenv("HOTPATCH_FAULT_INJECT", step.c_str(), 1);
    try {
      engine_work();
    } catch (...) {
      _exit(2);
    }
    _exit(3);  // the fault point was never reached
  }
  int status = 0;
  REQUIRE(waitpid(engine, &status, 0) == engine);
  INFO("engine exit status " << status);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE(WTERMSIG(status) == SIGKILL);
}

std::string EffectiveState(pid_t pid) {
  auto listed = ListPatches(pid);
  if (listed.empty()) return "none";
  REQUIRE(listed.size() == 1);
  return listed[0].effective_state;
}

}  // namespace

TEST_CASE("engine killed during apply: the target is untouched or fully patched") {
  auto [step, patched] = GENERATE(table<std::string, bool>({{"apply-prepared", false},
                                                            {"apply-stopped", false},
                                                            {"apply-mid-flip", false},
                                                            {"apply-committed", true},
                                                            {"apply-recorded", true}}));
  INFO("fault injected at " << step);
  std::string path = TargetPath("engine_loop");
  TargetProcess target(path, {"4"});
  target.WaitForLine("ready");
  auto bundle = BuildPatchBundle("version2", path, "version2");
  auto original = SnapshotCode(target.pid(), path);

  RunEngineKilledAt(step, [&] { ApplyBundle(target.pid(), bundle, {}); });
  REQUIRE(target.IsAlive());
  CHECK(EffectiveState(target.pid()) == (patched ? "applied" : "not applied"));
  WaitForVersion(target, patched ? 2 : 1);

  // A fresh engine finishes the job either way.
  if (patched) {
    RevertPatches(target.pid(), {});
  } else {
    ApplyBundle(target.pid(), bundle, {});
    WaitForVersion(target, 2);
    RevertPatches(target.pid(), {});
  }
  WaitForVersion(target, 1);
  CHECK(ListPatches(target.pid()).empty());
  CHECK(SnapshotCode(target.pid(), path) == original);
  CHECK(ReadStats(target)["errors"] == 0);
}

TEST_CASE("engine killed during revert: the target is fully patched or fully reverted") {
  auto [step, still_patched] = GENERATE(table<std::string, bool>({{"revert-stopped", true},
                                                                  {"revert-mid-flip", true},
                                                                  {"revert-committed", false},
                                                                  {"forget-restored", false}}));
  INFO("fault injected at " << step);
  std::string path = TargetPath("engine_loop");
  TargetProcess target(path, {"4"});
  target.WaitForLine("ready");
  auto bundle = BuildPatchBundle("version2", path, "version2");
  auto original = SnapshotCode(target.pid(), path);
  ApplyBundle(target.pid(), bundle, {});
  WaitForVersion(target, 2);

  RunEngineKilledAt(step, [&] { RevertPatches(target.pid(), {}); });
  REQUIRE(target.IsAlive());
  std::string state = EffectiveState(target.pid());
  if (still_patched) {
    CHECK(state == "applied");
    WaitForVersion(target, 2);
    RevertPatches(target.pid(), {});
  } else {
    CHECK((state == "not applied" || state == "none"));
    WaitForVersion(target, 1);
    if (state != "none") {
      // The next engine operation clears the leftover record; applying again proves it.
      ApplyBundle(target.pid(), bundle, {});
      RevertPatches(target.pid(), {});
    }
  }
  WaitForVersion(target, 1);
  CHECK(ListPatches(target.pid()).empty());
  CHECK(SnapshotCode(target.pid(), path) == original);
  CHECK(ReadStats(target)["errors"] == 0);
}

TEST_CASE("engine killed between mapping the registry and writing its header: no patch, reused") {
  std::string path = TargetPath("engine_loop");
  TargetProcess target(path, {"4"});
  target.WaitForLine("ready");
  auto bundle = BuildPatchBundle("version2", path, "version2");
  auto registry_mappings = [&] {
    int count = 0;
    for (const Mapping& m : ReadMappings(target.pid()))
      if (m.path.find("hotpatch-registry") != std::string::npos) ++count;
    return count;
  };

  // The first apply of a process creates the registry: a remote mmap, then the header.
  RunEngineKilledAt("registry-mapped", [&] { ApplyBundle(target.pid(), bundle, {}); });
  REQUIRE(target.IsAlive());
  REQUIRE(registry_mappings() == 1);
  // A reader sees a registry without a header as no registry, not as a corrupt one.
  CHECK(ListPatches(target.pid()).empty());
  WaitForVersion(target, 1);

  // The next apply writes the header into that mapping rather than mapping a second one.
  ApplyBundle(target.pid(), bundle, {});
  WaitForVersion(target, 2);
  CHECK(registry_mappings() == 1);
  RevertPatches(target.pid(), {});
  WaitForVersion(target, 1);
  CHECK(ReadStats(target)["errors"] == 0);
}
