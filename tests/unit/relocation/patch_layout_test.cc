// Layout of the code and data areas: order, alignment, NOBITS, sizes known before the addresses.
#include <elf.h>

#include <catch2/catch.hpp>

#include "base/error.h"
#include "engine/patch_image.h"

using hotpatch::Error;
using hotpatch::ErrorCode;
using hotpatch::ImageSection;
using hotpatch::LinkPatchImage;
using hotpatch::PatchImage;
using hotpatch::PatchLayout;
using hotpatch::RemotePtr;
using hotpatch::ResolvedSymbol;

namespace {

ImageSection Section(std::string name, std::vector<uint8_t> bytes, uint64_t size,
                     uint64_t alignment, bool executable, bool writable) {
  return {.name = std::move(name),
          .bytes = std::move(bytes),
          .size = size,
          .alignment = alignment,
          .executable = executable,
          .writable = writable,
          .relocations = {}};
}

std::vector<ImageSection> MixedSections() {
  return {
      Section(".data.counter", {1, 2, 3, 4}, 4, 4, false, true),
      Section(".text.a", {0x90, 0xc3}, 2, 16, true, false),
      Section(".rodata.str1.1", {'h', 'i', 0}, 3, 1, false, false),
      Section(".bss.table", {}, 64, 32, false, true),
      Section(".text.b", {0xc3}, 1, 16, true, false),
  };
}

}  // namespace

TEST_CASE("Code first, then read-only data, in the code area; writable sections in the data area") {
  std::vector<ImageSection> sections = MixedSections();
  PatchLayout layout = hotpatch::ComputePatchLayout(sections, {});
  REQUIRE(layout.sections.size() == 5);
  CHECK(layout.sections[1].in_code_area);
  CHECK(layout.sections[1].offset == 0);  // .text.a
  CHECK(layout.sections[4].in_code_area);
  CHECK(layout.sections[4].offset == 0x10);  // .text.b, aligned to 16
  CHECK(layout.sections[2].in_code_area);
  CHECK(layout.sections[2].offset == 0x11);  // .rodata.str1.1 after the code
  CHECK_FALSE(layout.sections[0].in_code_area);
  CHECK(layout.sections[0].offset == 0);  // .data.counter
  CHECK_FALSE(layout.sections[3].in_code_area);
  CHECK(layout.sections[3].offset == 0x20);  // .bss.table, aligned to 32
  CHECK(layout.code_size == 0x14);
  CHECK(layout.code_alignment == 16);
  CHECK(layout.data_size == 0x60);
  CHECK(layout.data_alignment == 32);
  CHECK(hotpatch::ComputeCodeSize(sections, {}) == 0x14);
  CHECK(hotpatch::ComputeDataSize(sections, {}) == 0x60);

  PatchImage image = LinkPatchImage(sections, {}, RemotePtr(0x10000), RemotePtr(0x20000));
  REQUIRE(image.code.size() == 0x14);
  REQUIRE(image.data.size() == 0x60);
  // Gaps between code sections are int3, so a stray jump traps instead of running the next one.
  CHECK(image.code[0] == 0x90);
  CHECK(image.code[1] == 0xc3);
  CHECK(image.code[2] == 0xcc);
  CHECK(image.code[0x10] == 0xc3);
  CHECK(image.code[0x11] == 'h');
  CHECK(image.data[0] == 1);
  for (size_t i = 0x20; i < 0x60; ++i) CHECK(image.data[i] == 0);  // NOBITS reads as zeros
  CHECK(image.section_addresses[3] == RemotePtr(0x20020));
  CHECK(image.section_addresses[2] == RemotePtr(0x10011));
}

TEST_CASE("Layout does not depend on the placement; only relocated fields change") {
  std::vector<ImageSection> sections = MixedSections();
  // lea .rodata.str1.1(%rip), %rax ; call .text.b
  sections[1].bytes = {0x48, 0x8d, 0x05, 0, 0, 0, 0, 0xe8, 0, 0, 0, 0, 0xc3};
  sections[1].size = sections[1].bytes.size();
  sections[1].relocations = {{.offset = 3, .type = R_X86_64_PC32, .symbol = 0, .addend = -4},
                             {.offset = 8, .type = R_X86_64_PLT32, .symbol = 1, .addend = -4}};
  std::vector<ResolvedSymbol> symbols = {
      {.kind = ResolvedSymbol::kInImage, .section = 2, .value = 0, .name = ""},
      {.kind = ResolvedSymbol::kInImage, .section = 4, .value = 0, .name = "b"}};
  PatchImage first = LinkPatchImage(sections, symbols, RemotePtr(0x10000), RemotePtr(0x20000));
  PatchImage second =
      LinkPatchImage(sections, symbols, RemotePtr(0x7f0000010000), RemotePtr(0x7f0000100000));
  CHECK(first.code == second.code);  // code-to-code distances are fixed by the layout
  CHECK(first.data == second.data);
  CHECK(first.code.size() == hotpatch::ComputeCodeSize(sections, symbols));
}

TEST_CASE("Misaligned bases and overlapping areas are refused") {
  std::vector<ImageSection> sections = MixedSections();
  CHECK_THROWS_AS(LinkPatchImage(sections, {}, RemotePtr(0x10008), RemotePtr(0x20000)), Error);
  try {
    LinkPatchImage(sections, {}, RemotePtr(0x10000), RemotePtr(0x20010));
    FAIL("misaligned data area accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kBadRequest);
    CHECK_THAT(e.what(), Catch::Contains("0x20010 is not aligned to 0x20"));
  }
  CHECK_THROWS_AS(LinkPatchImage(sections, {}, RemotePtr(0x10000), RemotePtr(0x10000)), Error);
}

TEST_CASE("Sections a patch cannot have are refused") {
  std::vector<ImageSection> sections = MixedSections();
  sections.push_back(Section(".tbss.depth", {}, 4, 4, false, true));
  CHECK_THROWS_WITH(hotpatch::ComputeDataSize(sections, {}), Catch::Contains(".tbss.depth"));
  sections.back() = Section(".text.odd", {0xc3}, 1, 3, true, false);
  CHECK_THROWS_WITH(hotpatch::ComputeCodeSize(sections, {}), Catch::Contains("not a power of two"));
  sections.back() = Section(".wx", {0xc3}, 1, 1, true, true);
  CHECK_THROWS_WITH(hotpatch::ComputeCodeSize(sections, {}),
                    Catch::Contains("both writable and executable"));
}
