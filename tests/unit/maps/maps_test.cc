#include "process/maps.h"

#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <thread>

#include "base/error.h"
#include "support/target_process.h"

using hotpatch::Error;
using hotpatch::ErrorCode;
using hotpatch::Mapping;
using hotpatch::ParseMappings;
using hotpatch::ReadMappings;
using hotpatch::RemotePtr;
using hotpatch::test::TargetPath;
using hotpatch::test::TargetProcess;

namespace {

const Mapping* MappingContaining(const std::vector<Mapping>& mappings, const void* address) {
  RemotePtr at(reinterpret_cast<uint64_t>(address));
  for (const Mapping& m : mappings) {
    if (m.range.contains(at)) return &m;
  }
  return nullptr;
}

char ProcessState(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(stat, line);
  auto paren = line.rfind(')');
  return paren == std::string::npos || paren + 2 >= line.size() ? '?' : line[paren + 2];
}

}  // namespace

TEST_CASE("ReadMappings describes this process: code, stack, permissions, paths") {
  auto mappings = ReadMappings(getpid());
  REQUIRE(!mappings.empty());
  char exe[4096];
  ssize_t length = readlink("/proc/self/exe", exe, sizeof exe - 1);
  REQUIRE(length > 0);

  const Mapping* code = MappingContaining(mappings, reinterpret_cast<const void*>(&ReadMappings));
  REQUIRE(code != nullptr);
  CHECK(code->path == std::string(exe, length));
  CHECK(code->readable);
  CHECK(code->executable);
  CHECK_FALSE(code->writable);
  CHECK_FALSE(code->shared);
  CHECK(code->inode != 0);
  CHECK_FALSE(code->deleted);

  int on_stack = 0;
  const Mapping* stack = MappingContaining(mappings, &on_stack);
  REQUIRE(stack != nullptr);
  CHECK(stack->path == "[stack]");
  CHECK(stack->writable);
  CHECK_FALSE(stack->executable);
  CHECK(stack->inode == 0);

  for (size_t i = 1; i < mappings.size(); ++i) {
    CHECK(mappings[i - 1].range.end <= mappings[i].range.begin);
  }
}

TEST_CASE("ParseMappings handles spaces, deleted files and anonymous mappings") {
  auto mappings = ParseMappings(
      "55d0c0a00000-55d0c0a02000 r-xp 00001000 fd:01 1234                       /tmp/my dir/a "
      "b (deleted)\n"
      "7f0000000000-7f0000001000 rw-s 00000000 00:01 77                         /memfd:hotpatch "
      "(deleted)\n"
      "7f0000001000-7f0000003000 rw-p 00000000 00:00 0 \n"
      "7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0                          [stack]\n",
      "test");
  REQUIRE(mappings.size() == 4);
  CHECK(mappings[0].range.begin == RemotePtr(0x55d0c0a00000));
  CHECK(mappings[0].range.end == RemotePtr(0x55d0c0a02000));
  CHECK(mappings[0].offset == 0x1000);
  CHECK(mappings[0].device == "fd:01");
  CHECK(mappings[0].inode == 1234);
  CHECK(mappings[0].path == "/tmp/my dir/a b");
  CHECK(mappings[0].deleted);
  CHECK(mappings[1].shared);
  CHECK(mappings[1].path == "/memfd:hotpatch");
  CHECK(mappings[1].deleted);
  CHECK(mappings[2].path.empty());
  CHECK(mappings[2].inode == 0);
  CHECK_FALSE(mappings[2].deleted);
  CHECK(mappings[3].path == "[stack]");
  CHECK_THROWS_AS(ParseMappings("not a maps line\n", "test"), Error);
}

TEST_CASE("ReadMappings of a gone process throws kNoSuchProcess naming the pid") {
  TargetProcess target(TargetPath("dlopen_late"));
  target.WaitForLine("ready");
  pid_t pid = target.pid();

  SECTION("a zombie has no address space") {
    REQUIRE(kill(pid, SIGKILL) == 0);
    // Not reaped (TargetProcess reaps at the end), so /proc/PID stays; wait for the exit.
    for (int i = 0; i < 1000 && ProcessState(pid) != 'Z'; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    REQUIRE(ProcessState(pid) == 'Z');
    try {
      ReadMappings(pid);
      FAIL("read the mappings of a zombie");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::kNoSuchProcess);
      CHECK(std::string(e.what()).find(std::to_string(pid)) != std::string::npos);
    }
  }
  SECTION("a reaped process has no /proc entry") {
    target.KillAndWait(SIGKILL);
    try {
      ReadMappings(pid);
      FAIL("read the mappings of a reaped process");
    } catch (const Error& e) {
      CHECK(e.code() == ErrorCode::kNoSuchProcess);
      CHECK(std::string(e.what()).find(std::to_string(pid)) != std::string::npos);
    }
  }
}
