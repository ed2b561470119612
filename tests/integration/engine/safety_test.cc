// The safety check refuses while a thread is inside a function being replaced.
#include <catch2/catch.hpp>

#include "base/error.h"
#include "engine/engine.h"
#include "engine_fixture.h"

using namespace hotpatch;
using namespace hotpatch::test;

TEST_CASE("a thread parked inside the function: busy with a useful error, then success") {
  // 40 workers: the stops' walks run on both cores (StackWalker::WalkAll from 32 threads), and the
  // parker is found whichever core walks it.
  std::string workers = GENERATE("2", "40");
  INFO(workers << " workers");
  std::string path = TargetPath("engine_loop");
  // Built before the target starts: the parker's window opens at "ready", and compiling the patch
  // under ASan on a loaded machine took longer than the window once (docs/hardening.md).
  auto bundle = BuildPatchBundle("parked", path, "parked");
  TargetProcess target(path, {workers, "4000"});  // parker sits in parked() for 4 s
  target.WaitForLine("ready");
  auto original = SnapshotCode(target.pid(), path);
  ApplyOptions quick;
  quick.timeout = std::chrono::milliseconds(200);
  try {
    ApplyBundle(target.pid(), bundle, quick);
    FAIL("applied while a thread was inside parked()");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kBusy);
    std::string message = e.what();
    CHECK(message.find("parker") != std::string::npos);
    CHECK(message.find("parked") != std::string::npos);
    CHECK(message.find("stack:") != std::string::npos);
  }
  CHECK(SnapshotCode(target.pid(), path) == original);
  CHECK(ListPatches(target.pid()).empty());

  ApplyOptions patient;
  patient.timeout = std::chrono::seconds(20);
  auto applied = ApplyBundle(target.pid(), bundle, patient);
  CHECK(applied.attempts > 1);
  CHECK(ReadStats(target)["parked"] == 0);
  RevertPatches(target.pid(), {});
}

TEST_CASE("a function that never returns is refused with that reason") {
  std::string path = TargetPath("engine_loop");
  TargetProcess target(path, {"1"});
  target.WaitForLine("ready");
  auto bundle = BuildPatchBundle("spin", path, "spin");
  ApplyOptions quick;
  quick.timeout = std::chrono::milliseconds(100);
  try {
    ApplyBundle(target.pid(), bundle, quick);
    FAIL("patched a function that a thread never leaves");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kBusy);
    CHECK(std::string(e.what()).find("never returns") != std::string::npos);
    CHECK(std::string(e.what()).find("spinner") != std::string::npos);
  }
  CHECK(ListPatches(target.pid()).empty());
}
