// Targets that forbid themselves writable+executable memory (MDWE prctl, a seccomp filter like
// systemd's MemoryDenyWriteExecute): the engine must never ask them for such memory. It maps patch
// code read+exec from the start and writes it through /proc/PID/mem, which the kernel allows
// whatever the mapping's protection (FOLL_FORCE), so both placements still work.
#include <catch2/catch.hpp>

#include "base/error.h"
#include "engine/engine.h"
#include "hostile_fixture.h"
#include "process/maps.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

std::string WritableExecutableMappings(pid_t pid) {
  std::string found;
  for (const auto& m : ReadMappings(pid))
    if (m.writable && m.executable) found += m.range.begin.ToString() + " " + m.path + "\n";
  return found;
}

void CheckPlacementsWork(const std::string& mode) {
  std::string path = TargetPath("hostile_no_wx");
  TargetProcess target(path, {mode});
  std::string ready = target.ReadLine();
  if (ready.rfind("unsupported", 0) == 0) {
    WARN("SKIPPED: this kernel does not support the restriction: " << ready);
    return;
  }
  // The restriction is really in force, or this test would prove nothing.
  REQUIRE(ready == "ready mode=" + mode + " wx=refused exec_gain=refused");
  auto original = SnapshotExecutableCode(target.pid());
  auto bundle = BuildPatchBundle("version2", path, "version2");
  for (auto placement : {bundle::Placement::kReserved, bundle::Placement::kMapping}) {
    INFO("placement " << bundle::PlacementName(placement));
    ApplyOptions options;
    options.placement = placement;
    auto applied = ApplyBundle(target.pid(), bundle, options);
    CHECK(applied.placement == bundle::PlacementName(placement));
    WaitForVersion(target, 2);
    CHECK(WritableExecutableMappings(target.pid()).empty());
    RevertPatches(target.pid(), {});
    WaitForVersion(target, 1);
  }
  CHECK(ReadStats(target)["errors"] == 0);
  CHECK(SnapshotExecutableCode(target.pid()) == original);
  CHECK(WritableExecutableMappings(target.pid()).empty());
}

}  // namespace

TEST_CASE("a target with PR_SET_MDWE refusing exec gain is patched in reserved and mapping") {
  CheckPlacementsWork("mdwe");
}

TEST_CASE(
    "a target under a MemoryDenyWriteExecute seccomp filter is patched in reserved and mapping") {
  CheckPlacementsWork("seccomp");
}
