// A function shorter than the entry jump is patched by letting the jump overwrite the nop fill
// that follows it (no function starts there, so nothing can jump into it).
#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "engine_fixture.h"

using namespace hotpatch;
using namespace hotpatch::test;

TEST_CASE("a 4-byte function is patched over its trailing fill and reverted exactly") {
  std::string path = TargetPath("engine_short_function");
  TargetProcess target(path);
  target.WaitForLine("ready");
  auto bundle = BuildPatchBundle("tiny_plus_two", path, "tiny_plus_two");
  auto original = SnapshotCode(target.pid(), path);
  for (int cycle = 0; cycle < 20; ++cycle) {
    ApplyBundle(target.pid(), bundle, {});
    WaitForVersion(target, 2);
    RevertPatches(target.pid(), {});
    WaitForVersion(target, 1);
  }
  CHECK(SnapshotCode(target.pid(), path) == original);
  CHECK(ReadStats(target)["errors"] == 0);
}
