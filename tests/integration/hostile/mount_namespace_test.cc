// A target in another mount namespace: its /proc/PID/maps paths are paths in ITS namespace. Here a
// bind mount there puts the original binary at a path that, in ours, holds a different program of
// the same name, so reading the module by path would read the wrong bytes. The engine reaches the
// file through /proc/PID/map_files (or /proc/PID/root), and the build-id check proves it did.
#include <catch2/catch.hpp>
#include <filesystem>

#include "base/error.h"
#include "engine/engine.h"
#include "hostile_fixture.h"
#include "process/maps.h"

using namespace hotpatch;
using namespace hotpatch::test;
namespace fs = std::filesystem;

TEST_CASE("a target in another mount namespace behind a bind mount is patched from what it maps") {
  ScratchDirectory dir;
  std::string original_dir = dir.path() + "/original";
  std::string shadowed_dir = dir.path() + "/shadowed";
  fs::create_directory(original_dir);
  fs::create_directory(shadowed_dir);
  fs::copy_file(TargetPath("hostile_copy"), original_dir + "/hostile_copy");
  fs::copy_file(TargetPath("plain_loop"), shadowed_dir + "/hostile_copy");
  std::string seen_path = shadowed_dir + "/hostile_copy";

  // unshare without --fork and sh's exec keep one pid: the TargetProcess's child is the target.
  TargetProcess target("/usr/bin/unshare", {"--mount", "--propagation", "private", "/bin/sh", "-c",
                                            "mount --bind " + original_dir + " " + shadowed_dir +
                                                " && exec " + seen_path});
  target.WaitForLine("ready");
  // The setup is what we mean: the target's maps name a path that, here, is another program.
  bool maps_name_shadowed_path = false;
  for (const auto& m : ReadMappings(target.pid())) maps_name_shadowed_path |= m.path == seen_path;
  REQUIRE(maps_name_shadowed_path);
  REQUIRE(fs::read_symlink("/proc/self/ns/mnt") !=
          fs::read_symlink("/proc/" + std::to_string(target.pid()) + "/ns/mnt"));

  auto original_code = SnapshotExecutableCode(target.pid());
  auto for_shadowing = BuildPatchBundle("version2", seen_path, "built-from-our-view");
  try {
    ApplyBundle(target.pid(), for_shadowing, {});
    FAIL("a bundle built against the program our namespace sees at that path was applied");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kMismatch);
  }
  auto bundle = BuildPatchBundle("version2", original_dir + "/hostile_copy", "built-from-original");
  auto applied = ApplyBundle(target.pid(), bundle, {});
  CHECK(applied.functions == std::vector<std::string>{"version"});
  WaitForVersion(target, 2);
  RevertPatches(target.pid(), {});
  WaitForVersion(target, 1);
  CHECK(SnapshotExecutableCode(target.pid()) == original_code);
  CHECK(ReadStats(target)["errors"] == 0);
}
