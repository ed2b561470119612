// Inputs the fuzzers found (tests/fuzz/regressions/), replayed in the normal suite too.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "base/error.h"
#include "bundle/bundle.h"
#include "bundle/checksum.h"
#include "support/target_process.h"

TEST_CASE("every bundle-reader regression input is refused with an Error, never a crash") {
  auto dir = std::filesystem::path(hotpatch::test::SourceDir()) / "tests/fuzz/regressions/bundle_reader";
  size_t inputs = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::ifstream in(entry.path(), std::ios::binary);
    std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    INFO(entry.path());
    CHECK_THROWS_AS(hotpatch::bundle::ReadBundle(bytes), hotpatch::Error);
    CHECK_THROWS_AS(hotpatch::bundle::BundleChecksum(bytes), hotpatch::Error);
    ++inputs;
  }
  CHECK(inputs > 0);
}
