#include <catch2/catch.hpp>

#include "base/error.h"
#include "bundle/bundle.h"
#include "bundle/checksum.h"
#include "sample_bundles.h"

namespace hotpatch::bundle::test {
namespace {

TEST_CASE("a rich bundle survives write and read unchanged") {
  const Bundle original = RichBundle();
  const std::vector<uint8_t> file = WriteBundle(original);
  const Bundle read = ReadBundle(file);
  CHECK(read.patch_id == original.patch_id);
  CHECK(read.description == original.description);
  CHECK(read.target_build_id == original.target_build_id);
  CHECK(read.preferred_placement == Placement::kReserved);
  REQUIRE(read.sections.size() == 5);
  CHECK(read.sections[4].type == SHT_NOBITS);
  CHECK(read.sections[4].nobits_size == 64);
  CHECK(read.sections[0].relocations == original.sections[0].relocations);
  CHECK(read.symbols[kTargetCounter].kind == SymbolKind::kTarget);
  CHECK(read.symbols[kTargetCounter].value == 0x4010);
  CHECK(read.symbols[kPuts].kind == SymbolKind::kExternal);
  CHECK(read.symbols[kTlsState].thread_local_symbol);
  CHECK(read.symbols[kTlsState].value == 0x10);
  CHECK(read.replaced == original.replaced);
  CHECK(read.new_functions == original.new_functions);
  CHECK(read == original);  // every field, including those not spelled out above
}

TEST_CASE("writing is deterministic and reading is lossless") {
  const std::vector<uint8_t> file = WriteBundle(RichBundle());
  CHECK(WriteBundle(RichBundle()) == file);
  CHECK(WriteBundle(ReadBundle(file)) == file);
  CHECK(StoredChecksum(file) == BundleChecksum(file));
  CHECK(ChecksumHex(BundleChecksum(file)).size() == 64);
}

TEST_CASE("an empty description and source file survive") {
  Bundle bundle = SmallBundle();
  bundle.description = "";
  CHECK(ReadBundle(WriteBundle(bundle)) == bundle);
}

TEST_CASE("the writer refuses a model that breaks the rules") {
  SECTION("a local symbol after a global one") {
    Bundle bundle = RichBundle();
    bundle.symbols[kPuts].binding = STB_LOCAL;
    CHECK_THAT(BadBundleMessage([&] { WriteBundle(bundle); }),
               Catch::Contains(".symtab entry 6 'puts': a local symbol after a global"));
  }
  SECTION("a relocation beyond its section") {
    Bundle bundle = RichBundle();
    bundle.sections[0].relocations[1].offset = 40;  // a 4-byte field at 40 of 41 bytes
    CHECK_THAT(BadBundleMessage([&] { WriteBundle(bundle); }),
               Catch::Contains("section 1 '.text.fixed_function' relocation 1: offset 0x28"));
  }
  SECTION("a relocation naming no symbol") {
    Bundle bundle = RichBundle();
    bundle.sections[3].relocations[0].symbol = 8;
    CHECK_THAT(BadBundleMessage([&] { WriteBundle(bundle); }),
               Catch::Contains("symbol 8 beyond 8 symbols"));
  }
  SECTION("a replacement that is not code") {
    Bundle bundle = RichBundle();
    bundle.replaced[0].replacement_symbol = kFunctionTable;
    CHECK_THAT(BadBundleMessage([&] { WriteBundle(bundle); }),
               Catch::Contains("is not a function defined in an executable section"));
  }
  SECTION("overlapping replaced functions") {
    Bundle bundle = RichBundle();
    ReplacedFunction second = bundle.replaced[0];
    second.name = "other";
    second.target_offset += 8;
    second.replacement_symbol = kNewHelper;
    bundle.new_functions.clear();
    bundle.replaced.push_back(second);
    CHECK_THAT(BadBundleMessage([&] { WriteBundle(bundle); }), Catch::Contains("overlaps"));
  }
  SECTION("a patch id that cannot name a mapping") {
    Bundle bundle = RichBundle();
    bundle.patch_id = "has space";
    CHECK_THAT(BadBundleMessage([&] { WriteBundle(bundle); }), Catch::Contains("patch id"));
  }
  SECTION("a section name the bundle reserves") {
    Bundle bundle = RichBundle();
    bundle.sections[2].name = ".hotpatch.strings";
    CHECK_THAT(BadBundleMessage([&] { WriteBundle(bundle); }), Catch::Contains("reserved"));
  }
  SECTION("a thread-local definition") {
    Bundle bundle = RichBundle();
    bundle.symbols[kFunctionTable].type = STT_TLS;
    bundle.symbols[kFunctionTable].thread_local_symbol = true;
    CHECK_THAT(BadBundleMessage([&] { WriteBundle(bundle); }),
               Catch::Contains("cannot define a thread-local symbol"));
  }
  SECTION("a build-id too long for the header") {
    Bundle bundle = RichBundle();
    bundle.target_build_id.resize(kMaxBuildIdSize + 1);
    CHECK_THAT(BadBundleMessage([&] { WriteBundle(bundle); }), Catch::Contains("build-id"));
  }
}

}  // namespace
}  // namespace hotpatch::bundle::test
