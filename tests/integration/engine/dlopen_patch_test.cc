// A patch into a shared library the target dlopen()ed at run time: the bundle names the library's
// build-id, so the engine must find the module ld.so mapped late and patch it, not the executable.
#include <catch2/catch.hpp>

#include "engine/engine.h"
#include "engine_fixture.h"

using namespace hotpatch;
using namespace hotpatch::test;

TEST_CASE("a patch into a dlopen'ed shared library is applied and reverted to identical bytes") {
  TargetProcess target(TargetPath("engine_dlopen"), {"4"});
  std::string ready = target.WaitForLine("ready ");
  std::string library = ready.substr(6);  // the path ld.so mapped, as /proc/PID/maps shows it
  auto original = SnapshotCode(target.pid(), library);
  auto bundle = BuildPatchBundle("plugin_version2", library, "plugin_version2");

  auto applied = ApplyBundle(target.pid(), bundle, {});
  CHECK(applied.functions.size() == 2);
  WaitForVersion(target, 2);
  CHECK(SnapshotCode(target.pid(), library) != original);
  auto listed = ListPatches(target.pid());
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].record.module_path == library);

  RevertPatches(target.pid(), {});
  WaitForVersion(target, 1);
  CHECK(SnapshotCode(target.pid(), library) == original);
  CHECK(ListPatches(target.pid()).empty());
  auto stats = ReadStats(target);
  CHECK(stats["errors"] == 0);
  CHECK(stats["v2"] > 0);
  CHECK(target.IsAlive());
}
