// A never-returning loop whose back edge runs through the function's .cold part is still
// recognised as never returning (the hot part alone has a jump out, into .cold).
#include <catch2/catch.hpp>

#include "base/error.h"
#include "engine/engine.h"
#include "engine_fixture.h"

using namespace hotpatch;
using namespace hotpatch::test;

TEST_CASE("a never-returning loop through .cold is refused as never returning") {
  std::string path = TargetPath("engine_cold_loop");
  TargetProcess target(path);
  target.WaitForLine("ready");
  auto original = SnapshotCode(target.pid(), path);
  auto bundle = BuildPatchBundle("cold_loop", path, "cold_loop");
  ApplyOptions quick;
  quick.timeout = std::chrono::milliseconds(100);
  try {
    ApplyBundle(target.pid(), bundle, quick);
    FAIL("patched a function that a thread never leaves");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kBusy);
    std::string message = e.what();
    CHECK(message.find("never returns") != std::string::npos);
    CHECK(message.find("looper") != std::string::npos);
  }
  CHECK(ListPatches(target.pid()).empty());
  CHECK(SnapshotCode(target.pid(), path) == original);
}
