// Dead-code placement in inter-function padding: the target has no reserved area, no run-once
// code and no earlier patch, so the only dead code it has is the nop fill between its
// 512-byte-aligned functions.
#include <catch2/catch.hpp>

#include "elf/elf_file.h"
#include "engine/engine.h"
#include "engine_fixture.h"

using namespace hotpatch;
using namespace hotpatch::test;

TEST_CASE("dead-code placement uses inter-function padding") {
  std::string path = TargetPath("engine_padding");
  TargetProcess target(path, {"2"});
  target.WaitForLine("ready");
  auto original = SnapshotCode(target.pid(), path);
  auto bundle = BuildPatchBundle("small_version2", path, "small_version2");

  ApplyOptions dead;
  dead.placement = bundle::Placement::kDeadCode;
  auto applied = ApplyBundle(target.pid(), bundle, dead);
  CHECK(applied.placement == "dead");
  WaitForVersion(target, 2);

  // The code went where no function is: between two functions of the executable's .text.
  auto listed = ListPatches(target.pid());
  REQUIRE(listed.size() == 1);
  const PatchRecord& record = listed[0].record;
  auto elf = elf::ElfFile::Open(path);
  uint64_t first = static_cast<uint64_t>(record.code.begin - record.load_bias);
  uint64_t last = first + record.code.size() - 1;
  const elf::Section* text = elf.FindSection(".text");
  REQUIRE(text != nullptr);
  CHECK(first >= text->address);
  CHECK(last < text->address + text->size);
  CHECK(elf.FunctionContaining(first) == nullptr);
  CHECK(elf.FunctionContaining(last) == nullptr);

  RevertPatches(target.pid(), {});
  WaitForVersion(target, 1);
  CHECK(SnapshotCode(target.pid(), path) == original);  // the padding is nops again
  CHECK(ReadStats(target)["errors"] == 0);
}
