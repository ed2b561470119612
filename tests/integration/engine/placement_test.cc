// Each placement forced, and auto falling back when the smaller forms are full.
#include <catch2/catch.hpp>

#include "base/error.h"
#include "engine/engine.h"
#include "engine_fixture.h"
#include "process/maps.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

bool HasMappingNamed(pid_t pid, const std::string& name) {
  for (const auto& m : ReadMappings(pid))
    if (m.path.find(name) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("each placement forced explicitly works") {
  std::string path = TargetPath("engine_loop");
  TargetProcess target(path, {"2"});
  target.WaitForLine("ready");
  auto original = SnapshotCode(target.pid(), path);
  auto bundle = BuildPatchBundle("version3", path, "version3");  // no data: fits dead code
  for (auto placement : {bundle::Placement::kReserved, bundle::Placement::kDeadCode,
                         bundle::Placement::kMapping}) {
    ApplyOptions options;
    options.placement = placement;
    auto applied = ApplyBundle(target.pid(), bundle, options);
    CHECK(applied.placement == bundle::PlacementName(placement));
    WaitForVersion(target, 3);
    if (placement == bundle::Placement::kMapping)
      CHECK(HasMappingNamed(target.pid(), "hotpatch:version3:code"));
    RevertPatches(target.pid(), {});
    WaitForVersion(target, 1);
    CHECK_FALSE(HasMappingNamed(target.pid(), "hotpatch:version3"));
  }
  CHECK(SnapshotCode(target.pid(), path) == original);
}

TEST_CASE("a target without reserved areas: auto maps, explicit reserved and dead are refused") {
  std::string path = TargetPath("plain_loop");
  TargetProcess target(path);
  target.WaitForLine("ready");
  auto bundle = BuildPatchBundle("version3", path, "version3");
  auto original = SnapshotCode(target.pid(), path);
  for (auto placement : {bundle::Placement::kReserved, bundle::Placement::kDeadCode}) {
    ApplyOptions options;
    options.placement = placement;
    try {
      ApplyBundle(target.pid(), bundle, options);
      FAIL("placement " << bundle::PlacementName(placement) << " fitted a target without areas");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::kUnsupported);
      std::string message = e.what();
      CHECK(message.find(bundle::PlacementName(placement)) != std::string::npos);
      if (placement == bundle::Placement::kReserved)
        CHECK(message.find(".hotpatch.text") != std::string::npos);
    }
    CHECK(SnapshotCode(target.pid(), path) == original);
  }
  auto applied = ApplyBundle(target.pid(), bundle, {});
  CHECK(applied.placement == "mapping");
  WaitForVersion(target, 3);
  RevertPatches(target.pid(), {});
  WaitForVersion(target, 1);
  CHECK(SnapshotCode(target.pid(), path) == original);
}
