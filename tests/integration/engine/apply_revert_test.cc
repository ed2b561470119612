// Applying and reverting under load: the workers check every result of compute() and count what
// version() returns, so a half-written entry or a wrong relocation shows as an error.
#include <catch2/catch.hpp>

#include <signal.h>

#include <fstream>
#include <thread>

#include "base/error.h"
#include "engine/engine.h"
#include "engine_fixture.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

struct LoopTarget {
  std::string path = TargetPath("engine_loop");
  TargetProcess process;
  explicit LoopTarget(int threads = 8, int park_ms = 0)
      : process(path, {std::to_string(threads), std::to_string(park_ms)}) {
    process.WaitForLine("ready");
  }
};

}  // namespace

TEST_CASE("an applied patch takes effect, reports its placement and pause, and reverts exactly") {
  LoopTarget target(4);
  auto bundle = BuildPatchBundle("version2", target.path, "version2");
  auto original = SnapshotCode(target.process.pid(), target.path);

  auto applied = ApplyBundle(target.process.pid(), bundle, {});
  CHECK(applied.placement == "reserved");  // engine_loop reserves areas: the smallest form
  CHECK(applied.functions.size() == 2);
  CHECK(applied.attempts >= 1);
  CHECK(applied.pause_us > 0);
  WaitForVersion(target.process, 2);

  auto listed = ListPatches(target.process.pid());
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].record.patch_id == "version2");
  CHECK(listed[0].effective_state == "applied");
  CHECK(listed[0].record.applied_at_unix_us > 0);

  auto again = ApplyBundle(target.process.pid(), bundle, {});
  CHECK(again.already_applied);

  RevertPatches(target.process.pid(), {});
  WaitForVersion(target.process, 1);
  CHECK(ListPatches(target.process.pid()).empty());
  CHECK(SnapshotCode(target.process.pid(), target.path) == original);
  CHECK(ReadStats(target.process)["errors"] == 0);
}

TEST_CASE("two patches stacked on one function, reverted newest first") {
  LoopTarget target(4);
  auto v2 = BuildPatchBundle("version2", target.path, "version2");
  auto v3 = BuildPatchBundle("version3", target.path, "version3");
  auto original = SnapshotCode(target.process.pid(), target.path);
  ApplyBundle(target.process.pid(), v2, {});
  ApplyBundle(target.process.pid(), v3, {});
  WaitForVersion(target.process, 3);

  RevertOptions older;
  older.patch_id = "version2";
  try {
    RevertPatches(target.process.pid(), older);
    FAIL("reverting an overridden patch succeeded");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("version3") != std::string::npos);
  }
  RevertPatches(target.process.pid(), {});
  WaitForVersion(target.process, 2);
  RevertPatches(target.process.pid(), {});
  WaitForVersion(target.process, 1);
  CHECK(SnapshotCode(target.process.pid(), target.path) == original);
  CHECK(ReadStats(target.process)["errors"] == 0);
}

TEST_CASE("a debug patch calls libc: fprintf into a file") {
  LoopTarget target(2);
  std::string log = "/tmp/hotpatch-engine-log-" + std::to_string(getpid());
  std::remove(log.c_str());
  auto bundle = BuildPatchBundle("logging", target.path, "logging", "-DLOG_PATH='\"" + log + "\"'");
  ApplyBundle(target.process.pid(), bundle, {});
  WaitForVersion(target.process, 2);
  std::string first_line;
  for (int i = 0; i < 100 && first_line.empty(); ++i) {
    std::ifstream in(log);
    std::getline(in, first_line);
    if (first_line.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(first_line == "version() called, 1");
  RevertOptions all;
  all.all = true;
  CHECK(RevertPatches(target.process.pid(), all).reverted == std::vector<std::string>{"logging"});
  std::remove(log.c_str());
}

TEST_CASE("no signal is lost during 100 apply/revert cycles") {
  LoopTarget target(4);
  auto bundle = BuildPatchBundle("version2", target.path, "version2");
  std::atomic<bool> done{false};
  std::atomic<long> sent{0};
  pid_t pid = target.process.pid();
  std::thread sender([&] {
    union sigval value{};
    while (!done) {
      if (sigqueue(pid, SIGRTMIN, value) == 0) ++sent;
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  for (int cycle = 0; cycle < 100; ++cycle) {
    ApplyBundle(pid, bundle, {});
    RevertPatches(pid, {});
  }
  done = true;
  sender.join();
  long received = 0;
  for (int i = 0; i < 100 && received < sent; ++i) {
    received = ReadStats(target.process)["signals"];
    if (received < sent) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  CHECK(sent > 100);
  CHECK(received == sent);
  CHECK(ReadStats(target.process)["errors"] == 0);
}
