// A target whose executable on disk was replaced or deleted after it started: the engine must read
// the module from what is mapped (/proc/PID/map_files), never from the path, which now names other
// bytes or nothing. The build-id check proves which bytes it read: a bundle built against the
// original applies, one built against the replacement is refused.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "base/error.h"
#include "engine/engine.h"
#include "hostile_fixture.h"

using namespace hotpatch;
using namespace hotpatch::test;
namespace fs = std::filesystem;

namespace {

void ApplyAndRevert(TargetProcess& target, const std::vector<uint8_t>& bundle) {
  auto applied = ApplyBundle(target.pid(), bundle, {});
  CHECK(applied.functions == std::vector<std::string>{"version"});
  WaitForVersion(target, 2);
  RevertPatches(target.pid(), {});
  WaitForVersion(target, 1);
}

}  // namespace

TEST_CASE("a target whose binary was replaced on disk: the mapped module decides") {
  ScratchDirectory dir;
  std::string path = dir.path() + "/hostile_copy";
  fs::copy_file(TargetPath("hostile_copy"), path);
  TargetProcess target(path);
  target.WaitForLine("ready");
  auto for_original = BuildPatchBundle("version2", path, "for-original");

  // rename(2) over it, as package managers do: the old inode lives on in the mapping only.
  // plain_loop also defines version(), so a bundle can be built against it under the same name.
  std::string replacement = dir.path() + "/replacement";
  fs::copy_file(TargetPath("plain_loop"), replacement);
  fs::rename(replacement, path);
  auto for_replacement = BuildPatchBundle("version2", path, "for-replacement");
  auto original_code = SnapshotExecutableCode(target.pid());

  try {
    ApplyBundle(target.pid(), for_replacement, {});
    FAIL("a bundle built against the replacement was applied to the original");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kMismatch);
    INFO(e.what());
    CHECK(std::string(e.what()).find("build-id") != std::string::npos);
  }
  CHECK(SnapshotExecutableCode(target.pid()) == original_code);
  ApplyAndRevert(target, for_original);
  CHECK(SnapshotExecutableCode(target.pid()) == original_code);
  CHECK(ReadStats(target)["errors"] == 0);
}

TEST_CASE("a target whose binary was deleted: the mapped module is still patched") {
  ScratchDirectory dir;
  std::string path = dir.path() + "/hostile_copy";
  fs::copy_file(TargetPath("hostile_copy"), path);
  TargetProcess target(path);
  target.WaitForLine("ready");
  auto bundle = BuildPatchBundle("version2", path, "for-deleted");
  fs::remove(path);
  auto original_code = SnapshotExecutableCode(target.pid());
  ApplyAndRevert(target, bundle);
  CHECK(SnapshotExecutableCode(target.pid()) == original_code);
  CHECK(ReadStats(target)["errors"] == 0);
}
