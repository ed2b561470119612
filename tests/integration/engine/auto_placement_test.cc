// `auto` takes the smallest placement that fits and moves on when it is full:
// reserved -> dead (run-once code) -> a new mapping.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine_fixture.h"

using namespace hotpatch;
using namespace hotpatch::test;

TEST_CASE("auto chooses each placement as the smaller ones fill up and all revert") {
  std::string path = TargetPath("engine_placement_forms");
  TargetProcess target(path, {"2"});
  target.WaitForLine("ready");
  auto original = SnapshotCode(target.pid(), path);

  // Stacked patches of version(), each ~1.1 KiB and returning its own value, until one needs a
  // mapping. The reserved page holds three, the run-once function about two.
  std::vector<std::string> placements, ids;
  for (int value = 2; value <= 15 && (placements.empty() || placements.back() != "mapping");
       ++value) {
    std::string id = "large" + std::to_string(value);
    auto bundle =
        BuildPatchBundle("large_version", path, id, "-DVERSION_VALUE=" + std::to_string(value));
    auto applied = ApplyBundle(target.pid(), bundle, {});
    INFO("patch " << id << " placed in " << applied.placement);
    WaitForVersion(target, value);
    placements.push_back(applied.placement);
    ids.push_back(id);
  }
  // The order never goes back to a smaller form, and every form was used.
  std::vector<std::string> forms;
  for (const auto& p : placements)
    if (forms.empty() || forms.back() != p) forms.push_back(p);
  INFO("placements in order: " << Catch::Detail::stringify(placements));
  CHECK(forms == std::vector<std::string>{"reserved", "dead", "mapping"});

  RevertOptions all;
  all.all = true;
  auto reverted = RevertPatches(target.pid(), all);
  CHECK(reverted.reverted == std::vector<std::string>(ids.rbegin(), ids.rend()));
  WaitForVersion(target, 1);
  CHECK(ListPatches(target.pid()).empty());
  CHECK(SnapshotCode(target.pid(), path) == original);
  CHECK(ReadStats(target)["errors"] == 0);
}
