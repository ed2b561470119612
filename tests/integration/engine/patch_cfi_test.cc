// Patch code carries its CFI (bundle/carried_eh_frame.h, engine/patch_cfi.h): a thread whose stack
// runs through a replacement built without frame pointers is walked exactly, past the patch code.
#include <signal.h>

#include <catch2/catch.hpp>
#include <thread>

#include "base/error.h"
#include "engine/engine.h"
#include "engine_fixture.h"

using namespace hotpatch;
using namespace hotpatch::test;

TEST_CASE("a thread below patch code without frame pointers keeps its caller from being replaced") {
  std::string path = TargetPath("patch_code_frames");
  auto inner = BuildPatchBundle("inner_without_frame_pointer", path, "inner-no-frame-pointer",
                                "-fomit-frame-pointer");
  auto middle = BuildPatchBundle("middle_version2", path, "middle-version2");
  TargetProcess target(path);
  target.WaitForLine("ready");

  ApplyBundle(target.pid(), inner, {});
  auto listed = ListPatches(target.pid());
  REQUIRE(listed.size() == 1);
  const PatchRecord& record = listed[0].record;
  // The patch's own CFI is in its code area, and covers its one function.
  CHECK(record.code.contains(record.eh_frame_hdr));
  REQUIRE(record.cfi_ranges.size() == 1);
  CHECK(record.cfi_ranges[0].contains(record.functions.at(0).replacement));
  // usleep is in libc, beyond rel32 reach: called through a stub, which is recorded too.
  CHECK(record.call_stubs.begin < record.call_stubs.end);
  CHECK(record.code.contains(record.call_stubs.begin));

  // From here the "caller" thread sits in the replacement of inner() (usleep, 50 ms at a time),
  // called from middle(), with rbp holding middle()'s caller's frame pointer.
  REQUIRE(kill(target.pid(), SIGUSR1) == 0);
  target.WaitForLine("started");
  std::this_thread::sleep_for(std::chrono::milliseconds(20));

  ApplyOptions quick;
  quick.timeout = std::chrono::milliseconds(300);
  try {
    ApplyBundle(target.pid(), middle, quick);
    FAIL("replaced middle() while the caller thread was inside it, below patch code");
  } catch (const Error& e) {
    std::string message = e.what();
    INFO(message);
    CHECK(e.code() == ErrorCode::kBusy);
    CHECK(message.find("caller") != std::string::npos);
    CHECK(message.find("middle") != std::string::npos);
    // A walk that could not get past the patch code would say so; this one is exact.
    CHECK(message.find("unreliable") == std::string::npos);
  }
  CHECK(ListPatches(target.pid()).size() == 1);
}
