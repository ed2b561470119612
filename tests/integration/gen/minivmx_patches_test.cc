// The demo's patches (examples/patches/) build into bundles for the minivmx the project built,
// through hotpatch-gen build and the project's own CMake build. Slow-ish (two configures and two
// builds of minivmx, ~15-30 s), hence one case for both patches.
#include <catch2/catch.hpp>
#include <filesystem>

#include "corpus_case.h"
#include "support/target_process.h"

namespace hotpatch::test {

TEST_CASE("build: the minivmx example patches become bundles") {
  const std::string target = ExamplePath("minivmx");
  REQUIRE(std::filesystem::exists(target));
  char pattern[] = "/tmp/hotpatch-gen-minivmx-XXXXXX";
  REQUIRE(mkdtemp(pattern) != nullptr);
  const std::string out = pattern;
  for (const std::string name : {"serial-ring-wrap-fix", "serial-ring-wrap-debug"}) {
    std::string output;
    const int status = RunShell(
        "cd " + SourceDir() + " && " + BinaryDir() + "/patchgen/hotpatch-gen build --target " +
            target + " --source . --patch examples/patches/" + name + ".diff --build " +
            "'cmake -S . -B hotpatch-gen-build >/dev/null && cmake --build hotpatch-gen-build " +
            "--target minivmx' -o " + out + "/" + name + ".hpb --id " + name,
        output);
    INFO(output);
    CHECK(status == 0);
    CHECK_THAT(output, Catch::Matchers::Contains("replace serial_ring_read"));
  }
  std::filesystem::remove_all(out);
}

}  // namespace hotpatch::test
