// Bad input leaves the target exactly as it was: every refusal happens before anything changes.
#include <catch2/catch.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include "base/error.h"
#include "bundle/bundle.h"
#include "engine/engine.h"
#include "engine_fixture.h"
#include "process/remote_memory.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

ErrorCode ApplyError(pid_t pid, const std::vector<uint8_t>& bytes, std::string* message = nullptr) {
  try {
    ApplyBundle(pid, bytes, {});
  } catch (const Error& e) {
    if (message) *message = e.what();
    return e.code();
  }
  FAIL("the bundle was applied");
  return ErrorCode::kInternal;
}

}  // namespace

TEST_CASE("wrong build-id, changed bytes, tampered and truncated bundles, dead pid") {
  std::string path = TargetPath("engine_loop");
  TargetProcess target(path, {"2"});
  target.WaitForLine("ready");
  auto good = BuildPatchBundle("version2", path, "version2");
  auto before = SnapshotCode(target.pid(), path);

  SECTION("wrong build-id") {
    auto b = bundle::ReadBundle(good);
    b.target_build_id[0] ^= 0xff;
    std::string message;
    CHECK(ApplyError(target.pid(), bundle::WriteBundle(b), &message) == ErrorCode::kMismatch);
    CHECK(message.find("build-id") != std::string::npos);
  }
  SECTION("expected bytes differ") {
    auto b = bundle::ReadBundle(good);
    b.replaced[0].expected_sha256[0] ^= 0xff;
    std::string message;
    CHECK(ApplyError(target.pid(), bundle::WriteBundle(b), &message) == ErrorCode::kMismatch);
    CHECK(message.find(b.replaced[0].name) != std::string::npos);
  }
  SECTION("tampered") {
    auto bad = good;
    bad[bad.size() / 2] ^= 0x01;
    CHECK(ApplyError(target.pid(), bad) == ErrorCode::kBadBundle);
  }
  SECTION("truncated") {
    auto bad = good;
    bad.resize(bad.size() - 100);
    CHECK(ApplyError(target.pid(), bad) == ErrorCode::kBadBundle);
  }
  SECTION("dead pid") {
    pid_t child = fork();
    if (child == 0) _exit(0);
    waitpid(child, nullptr, 0);
    CHECK(ApplyError(child, good) == ErrorCode::kNoSuchProcess);
  }
  CHECK(SnapshotCode(target.pid(), path) == before);
  CHECK(ListPatches(target.pid()).empty());
  CHECK(ReadStats(target)["errors"] == 0);
}
