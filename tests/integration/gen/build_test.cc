// hotpatch-gen build on multi-file make projects (tests/gen/projects/tally in C, shapes in
// C++): the tool copies the tree twice, applies the fix to one copy, builds both with `make`
// through its compiler wrappers, and diffs only the objects that changed; the bundle then
// patches the running original.
#include <signal.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "corpus_case.h"
#include "engine/engine.h"
#include "support/target_process.h"

namespace hotpatch::test {
namespace {

namespace fs = std::filesystem;

struct ScratchDirectory {
  ScratchDirectory() {
    char pattern[] = "/tmp/hotpatch-gen-build-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  std::string path;
};

std::string Ask(TargetProcess& target) {
  kill(target.pid(), SIGUSR1);
  return target.WaitForLine("value ").substr(6);
}

}  // namespace

TEST_CASE("build: make project, only the changed object is diffed, bundle applies") {
  ScratchDirectory scratch;
  const std::string project = scratch.path + "/tally";
  fs::copy(SourceDir() + "/tests/gen/projects/tally", project, fs::copy_options::recursive);
  std::string output;
  REQUIRE(RunShell("make -s -C " + project + " program", output) == 0);

  const std::string bundle = scratch.path + "/fix.hpb";
  const int status = RunShell(BinaryDir() + "/patchgen/hotpatch-gen build --target " + project +
                                  "/program --source " + project + " --patch " + project +
                                  "/fix.diff -o " + bundle + " --id tally-fix",
                              output);
  INFO(output);
  REQUIRE(status == 0);
  CHECK_THAT(output, Catch::Matchers::Contains("replace weighted_tally"));
  CHECK_THAT(output, !Catch::Matchers::Contains("replace behaviour"));

  std::ifstream in(bundle, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  TargetProcess process(project + "/program");
  process.WaitForLine("ready");
  CHECK(Ask(process) == "tally 20");
  ApplyBundle(process.pid(), bytes, ApplyOptions{});
  CHECK(Ask(process) == "tally 200");
  RevertPatches(process.pid(), RevertOptions{});
  CHECK(Ask(process) == "tally 20");
}

TEST_CASE("build: C++ make project, a header's inline function and an anonymous-namespace one") {
  // tests/gen/projects/shapes: CXX goes through the c++ wrapper; the fix changes Scaled(), an
  // inline function of geometry.h that area.cc and report.cc both emit (COMDAT), and Square()
  // in area.cc's anonymous namespace.
  ScratchDirectory scratch;
  const std::string project = scratch.path + "/shapes";
  fs::copy(SourceDir() + "/tests/gen/projects/shapes", project, fs::copy_options::recursive);
  std::string output;
  REQUIRE(RunShell("make -s -C " + project + " program", output) == 0);

  const std::string bundle = scratch.path + "/fix.hpb";
  const int status = RunShell(BinaryDir() + "/patchgen/hotpatch-gen build --target " + project +
                                  "/program --source " + project + " --patch " + project +
                                  "/fix.diff -o " + bundle + " --id shapes-fix",
                              output);
  INFO(output);
  REQUIRE(status == 0);
  CHECK_THAT(output, Catch::Matchers::Contains("replace _Z6Scaledi\n"));
  CHECK_THAT(output, Catch::Matchers::Contains("replace _ZN12_GLOBAL__N_16SquareEi (area.cc)"));
  CHECK_THAT(output, Catch::Matchers::Contains("replaced once"));

  std::ifstream in(bundle, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());
  TargetProcess process(project + "/program");
  process.WaitForLine("ready");
  CHECK(Ask(process) == "area 36 scaled 6");
  ApplyBundle(process.pid(), bytes, ApplyOptions{});
  CHECK(Ask(process) == "area 90 scaled 9");
  RevertPatches(process.pid(), RevertOptions{});
  CHECK(Ask(process) == "area 36 scaled 6");
}

TEST_CASE("build: a fix that does not apply is refused with patch's message") {
  ScratchDirectory scratch;
  const std::string project = scratch.path + "/tally";
  fs::copy(SourceDir() + "/tests/gen/projects/tally", project, fs::copy_options::recursive);
  std::string output;
  REQUIRE(RunShell("make -s -C " + project + " program", output) == 0);
  std::ofstream(scratch.path + "/bad.diff")
      << "--- a/tally.c\n+++ b/tally.c\n@@ -1,1 +1,1 @@\n-no such line\n+other line\n";
  const int status = RunShell(BinaryDir() + "/patchgen/hotpatch-gen build --target " + project +
                                  "/program --source " + project + " --patch " + scratch.path +
                                  "/bad.diff -o " + scratch.path + "/x.hpb",
                              output);
  INFO(output);
  CHECK(status == 1);
  CHECK_THAT(output, Catch::Matchers::Contains("applying"));
  CHECK(!fs::exists(scratch.path + "/x.hpb"));
}

}  // namespace hotpatch::test
