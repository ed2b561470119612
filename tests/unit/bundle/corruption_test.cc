// A bundle is untrusted input: every corruption must end in Error(kBadBundle) naming what is
// wrong, never in a crash, an out-of-bounds read (run under HOTPATCH_SANITIZE to see those) or a
// silently accepted bundle.
#include <catch2/catch.hpp>
#include <cstddef>

#include "base/error.h"
#include "bundle/bounded_bytes.h"
#include "bundle/bundle.h"
#include "bundle/on_disk_records.h"
#include "sample_bundles.h"

namespace hotpatch::bundle::test {
namespace {

// What ReadBundle says about `file`: "" if it accepts it, else the kBadBundle message. Any other
// exception fails the test.
std::string RefusalOf(std::span<const uint8_t> file) {
  try {
    ReadBundle(file);
  } catch (const Error& error) {
    if (error.code() != ErrorCode::kBadBundle) {
      FAIL("error code " << ErrorCodeName(error.code()) << ": " << error.what());
    }
    return error.what();
  }
  return "";
}

uint64_t HeaderField(std::span<const uint8_t> file, size_t field_offset) {
  return SectionOffset(file, kHeaderSection) + field_offset;
}

TEST_CASE("every single flipped byte is refused") {
  const std::vector<uint8_t> original = WriteBundle(SmallBundle());
  REQUIRE(RefusalOf(original).empty());
  size_t accepted = 0;
  for (uint8_t mask : {0x01, 0x80, 0xff}) {
    for (size_t i = 0; i < original.size(); ++i) {
      std::vector<uint8_t> file = original;
      file[i] ^= mask;
      if (RefusalOf(file).empty()) {
        ++accepted;
        UNSCOPED_INFO("accepted with byte " << i << " ^ " << int{mask});
      }
    }
  }
  CHECK(accepted == 0);
}

TEST_CASE("a bundle truncated at any length is refused") {
  const std::vector<uint8_t> original = WriteBundle(RichBundle());
  for (size_t length = 0; length < original.size(); ++length) {
    const std::string message = RefusalOf(std::span(original).first(length));
    if (message.empty()) FAIL("accepted at length " << length);
  }
}

TEST_CASE("a flipped byte in a code section is reported as a checksum mismatch") {
  std::vector<uint8_t> file = WriteBundle(SmallBundle());
  file[SectionOffset(file, ".text.f")] ^= 0x01;
  CHECK_THAT(RefusalOf(file), Catch::Contains("checksum mismatch"));
}

TEST_CASE("a bundle of an unknown format version is refused naming the version") {
  std::vector<uint8_t> file = WriteBundle(SmallBundle());
  Poke<uint32_t>(file, HeaderField(file, offsetof(HeaderRecord, format_version)), 99);
  // Before the checksum: a later format may define the checksum differently.
  CHECK(RefusalOf(file) ==
        "bundle: format version 99 is not supported (this reader supports version 1)");
  Reseal(file);
  CHECK_THAT(RefusalOf(file), Catch::Contains("format version 99"));
}

TEST_CASE("oversized counts and offsets are refused naming the field") {
  std::vector<uint8_t> file = WriteBundle(RichBundle());
  const auto edit_and_read = [&](auto&& edit) {
    std::vector<uint8_t> copy = file;
    edit(copy);
    Reseal(copy);
    return RefusalOf(copy);
  };

  SECTION("header function_count") {
    CHECK_THAT(edit_and_read([](std::vector<uint8_t>& f) {
                 Poke<uint32_t>(f, HeaderField(f, offsetof(HeaderRecord, function_count)), 1000000);
               }),
               Catch::Contains(".hotpatch.header function_count 1000000 does not match "
                               ".hotpatch.functions (64 bytes, 64 per entry)"));
  }
  SECTION("header symbol_count") {
    CHECK_THAT(edit_and_read([](std::vector<uint8_t>& f) {
                 Poke<uint32_t>(f, HeaderField(f, offsetof(HeaderRecord, symbol_count)),
                                0xffffffff);
               }),
               Catch::Contains("symbol_count 4294967295 does not match .symtab"));
  }
  SECTION("header new_function_count") {
    CHECK_THAT(edit_and_read([](std::vector<uint8_t>& f) {
                 Poke<uint32_t>(f, HeaderField(f, offsetof(HeaderRecord, new_function_count)), 7);
               }),
               Catch::Contains("new_function_count 7"));
  }
  SECTION("header patch_id string offset") {
    CHECK_THAT(edit_and_read([](std::vector<uint8_t>& f) {
                 Poke<uint32_t>(f, HeaderField(f, offsetof(HeaderRecord, patch_id)), 9000);
               }),
               Catch::Contains(".hotpatch.header: patch_id offset 9000 beyond .hotpatch.strings"));
  }
  SECTION("header build_id_size") {
    CHECK_THAT(edit_and_read([](std::vector<uint8_t>& f) {
                 Poke<uint32_t>(f, HeaderField(f, offsetof(HeaderRecord, build_id_size)), 65);
               }),
               Catch::Contains("build_id_size 65"));
  }
  SECTION("function entry name offset") {
    const std::string message = edit_and_read([](std::vector<uint8_t>& f) {
      Poke<uint32_t>(f, SectionOffset(f, kFunctionsSection) + offsetof(FunctionRecord, name), 9000);
    });
    CHECK_THAT(message, Catch::StartsWith("bundle: .hotpatch.functions entry 0: name offset 9000 "
                                          "beyond .hotpatch.strings ("));
  }
  SECTION("function entry replacement symbol") {
    CHECK_THAT(edit_and_read([](std::vector<uint8_t>& f) {
                 Poke<uint32_t>(f,
                                SectionOffset(f, kFunctionsSection) +
                                    offsetof(FunctionRecord, replacement_symbol),
                                12345);
               }),
               Catch::Contains("entry 0: replacement_symbol: symbol 12345 is not a .symtab entry"));
  }
  SECTION("symbol name offset") {
    CHECK_THAT(edit_and_read([](std::vector<uint8_t>& f) {
                 Poke<uint32_t>(f, SectionOffset(f, ".symtab") + 3 * sizeof(Elf64_Sym), 70000);
               }),
               Catch::Contains(".symtab entry 3: name offset 70000 beyond .strtab"));
  }
  SECTION("symbol section index") {
    CHECK_THAT(edit_and_read([](std::vector<uint8_t>& f) {
                 Poke<uint16_t>(f,
                                SectionOffset(f, ".symtab") + 4 * sizeof(Elf64_Sym) +
                                    offsetof(Elf64_Sym, st_shndx),
                                9);
               }),
               Catch::Contains(".symtab entry 4: st_shndx 9 is not one of the patch's sections"));
  }
  SECTION("relocation symbol index") {
    CHECK_THAT(edit_and_read([](std::vector<uint8_t>& f) {
                 Poke<uint64_t>(
                     f,
                     SectionOffset(f, ".rela.text.fixed_function") + offsetof(Elf64_Rela, r_info),
                     ELF64_R_INFO(500, R_X86_64_PC32));
               }),
               Catch::Contains("entry 0: symbol 500 is not a .symtab entry"));
  }
  SECTION("relocation offset") {
    CHECK_THAT(edit_and_read([](std::vector<uint8_t>& f) {
                 Poke<uint64_t>(f, SectionOffset(f, ".rela.text.fixed_function"), 0x1000);
               }),
               Catch::Contains("relocation 0: offset 0x1000 + 4 bytes beyond the section"));
  }
  SECTION("section header table offset") {
    // The skeleton is checked before the checksum: no Reseal needed (nor possible).
    std::vector<uint8_t> copy = file;
    Poke<uint64_t>(copy, offsetof(Elf64_Ehdr, e_shoff), 0x7ffffffffffffff8);
    CHECK_THAT(RefusalOf(copy), Catch::Contains("ELF header e_shoff 0x7ffffffffffffff8 + e_shnum"));
  }
  SECTION("section count") {
    std::vector<uint8_t> copy = file;
    Poke<uint16_t>(copy, offsetof(Elf64_Ehdr, e_shnum), 60000);
    CHECK_THAT(RefusalOf(copy), Catch::Contains("e_shnum 60000"));
  }
  SECTION("section contents offset") {
    std::vector<uint8_t> copy = file;
    const auto shoff = ReadRecord<Elf64_Ehdr>(copy, 0, "").e_shoff;
    Poke<uint64_t>(copy, shoff + 2 * sizeof(Elf64_Shdr) + offsetof(Elf64_Shdr, sh_offset),
                   uint64_t{1} << 40);
    CHECK_THAT(RefusalOf(copy),
               Catch::Contains("section header 2: sh_offset 0x10000000000 + sh_size"));
  }
  SECTION("section contents size wrapping around") {
    std::vector<uint8_t> copy = file;
    const auto shoff = ReadRecord<Elf64_Ehdr>(copy, 0, "").e_shoff;
    Poke<uint64_t>(copy, shoff + 2 * sizeof(Elf64_Shdr) + offsetof(Elf64_Shdr, sh_size),
                   ~uint64_t{0});
    CHECK_THAT(RefusalOf(copy), Catch::Contains("section header 2: sh_offset"));
  }
  SECTION("section name offset") {
    std::vector<uint8_t> copy = file;
    const auto shoff = ReadRecord<Elf64_Ehdr>(copy, 0, "").e_shoff;
    Poke<uint32_t>(copy, shoff + 3 * sizeof(Elf64_Shdr) + offsetof(Elf64_Shdr, sh_name), 40000);
    CHECK_THAT(RefusalOf(copy),
               Catch::Contains("section header 3: sh_name offset 40000 beyond the section name"));
  }
}

TEST_CASE("sections that overlap are refused") {
  std::vector<uint8_t> file = WriteBundle(RichBundle());
  const auto shoff = ReadRecord<Elf64_Ehdr>(file, 0, "").e_shoff;
  // Point .text.new_helper (section 2) at the bytes of .text.fixed_function (section 1).
  Poke<uint64_t>(file, shoff + 2 * sizeof(Elf64_Shdr) + offsetof(Elf64_Shdr, sh_offset),
                 SectionOffset(file, ".text.fixed_function"));
  CHECK_THAT(RefusalOf(file), Catch::Contains("overlaps"));
}

TEST_CASE("a bundle missing a private section is refused") {
  std::vector<uint8_t> file = WriteBundle(SmallBundle());
  // Rename .hotpatch.strings to .hotpatch.string_ by editing the section name table.
  const uint64_t names = SectionOffset(file, ".shstrtab");
  const std::string_view table(reinterpret_cast<const char*>(file.data() + names),
                               file.size() - names);
  const size_t at = table.find(".hotpatch.strings");
  REQUIRE(at != std::string_view::npos);
  file[names + at + std::string_view(".hotpatch.strings").size() - 1] = '_';
  Reseal(file);
  CHECK_THAT(RefusalOf(file), Catch::Contains("missing section .hotpatch.strings"));
}

}  // namespace
}  // namespace hotpatch::bundle::test
