// Each relocation type against hand-built sections, checking the exact bytes the psABI formula
// gives for a fixed placement.
#include <elf.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "base/error.h"
#include "base/hex.h"
#include "engine/patch_image.h"
#include "engine/relocation.h"

using hotpatch::Error;
using hotpatch::ErrorCode;
using hotpatch::ImageRelocation;
using hotpatch::ImageSection;
using hotpatch::LinkPatchImage;
using hotpatch::PatchImage;
using hotpatch::RemotePtr;
using hotpatch::ResolvedSymbol;

namespace {

constexpr uint64_t kCodeBase = 0x7f0000400000;
constexpr uint64_t kDataBase = 0x7f0000800000;

ImageSection Text(std::vector<uint8_t> bytes, std::vector<ImageRelocation> relocations = {}) {
  ImageSection section{.name = ".text.f",
                       .bytes = std::move(bytes),
                       .size = 0,
                       .alignment = 16,
                       .executable = true,
                       .writable = false,
                       .relocations = std::move(relocations)};
  section.size = section.bytes.size();
  return section;
}

ImageSection Data(std::vector<uint8_t> bytes, std::vector<ImageRelocation> relocations = {}) {
  ImageSection section{.name = ".data.d",
                       .bytes = std::move(bytes),
                       .size = 0,
                       .alignment = 8,
                       .executable = false,
                       .writable = true,
                       .relocations = std::move(relocations)};
  section.size = section.bytes.size();
  return section;
}

ResolvedSymbol InImage(uint32_t section, uint64_t offset, std::string name) {
  return {.kind = ResolvedSymbol::kInImage, .section = section, .value = offset, .name = name};
}
ResolvedSymbol Absolute(uint64_t address, std::string name) {
  return {.kind = ResolvedSymbol::kAbsolute, .section = 0, .value = address, .name = name};
}
ResolvedSymbol TargetTls(int64_t tp_offset, std::string name) {
  return {
      .kind = ResolvedSymbol::kTargetTls, .section = 0, .value = uint64_t(tp_offset), .name = name};
}

PatchImage Link(const std::vector<ImageSection>& sections,
                const std::vector<ResolvedSymbol>& symbols) {
  return LinkPatchImage(sections, symbols, RemotePtr(kCodeBase), RemotePtr(kDataBase));
}

uint32_t Read32(const std::vector<uint8_t>& bytes, size_t offset) {
  uint32_t value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}
uint64_t Read64(const std::vector<uint8_t>& bytes, size_t offset) {
  uint64_t value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

std::string Bytes(const std::vector<uint8_t>& bytes, size_t offset, size_t size) {
  return hotpatch::HexBytes(std::span(bytes).subspan(offset, size));
}

// The message of the Error that `link` throws, after checking its code.
template <typename F>
std::string ErrorMessage(F&& link, ErrorCode expected) {
  try {
    link();
  } catch (const Error& e) {
    CHECK(hotpatch::ErrorCodeName(e.code()) == hotpatch::ErrorCodeName(expected));
    return e.what();
  }
  FAIL("no hotpatch::Error thrown");
  return {};
}

// 8b 05 <disp32>: mov disp32(%rip), %eax; c3: ret.
const std::vector<uint8_t> kMovRipEax = {0x8b, 0x05, 0, 0, 0, 0, 0xc3};
// e8 <rel32>: call rel32; c3: ret.
const std::vector<uint8_t> kCall = {0xe8, 0, 0, 0, 0, 0xc3};
// 48 8b 05 <disp32>: mov disp32(%rip), %rax; c3: ret.
const std::vector<uint8_t> kMovRipRax = {0x48, 0x8b, 0x05, 0, 0, 0, 0, 0xc3};

}  // namespace

TEST_CASE("R_X86_64_PC32 writes S + A - P to a patch section") {
  // .text.f at kCodeBase, .data.d at kDataBase; the load reads .data.d+4.
  std::vector<ImageSection> sections = {
      Text(kMovRipEax, {{.offset = 2, .type = R_X86_64_PC32, .symbol = 0, .addend = -4}}),
      Data(std::vector<uint8_t>(8, 0))};
  PatchImage image = Link(sections, {InImage(1, 4, ".data.d")});
  REQUIRE(image.section_addresses.size() == 2);
  CHECK(image.section_addresses[0] == RemotePtr(kCodeBase));
  CHECK(image.section_addresses[1] == RemotePtr(kDataBase));
  // S + A - P = (kDataBase + 4) - 4 - (kCodeBase + 2) = 0x3ffffe.
  CHECK(Bytes(image.code, 0, 7) == "8b 05 fe ff 3f 00 c3");
}

TEST_CASE("R_X86_64_PC32 to a target symbol more than 2 GiB away is refused with the distance") {
  std::vector<ImageSection> sections = {
      Text(kMovRipEax, {{.offset = 2, .type = R_X86_64_PC32, .symbol = 0, .addend = -4}})};
  std::string message = ErrorMessage(
      [&] { Link(sections, {Absolute(0x555500001000, "vmx_state")}); }, ErrorCode::kUnsupported);
  CHECK_THAT(message, Catch::Contains("R_X86_64_PC32 at .text.f+0x2 (symbol vmx_state)"));
  CHECK_THAT(message, Catch::Contains("0x555500001000 is -0x29ab003ff002 bytes from the place "
                                      "0x7f0000400002"));
  // Exactly at the edge of rel32 reach still links: S + A - P = INT32_MAX.
  PatchImage image = Link(sections, {Absolute(kCodeBase + 2 + 4 + 0x7fffffff, "near_edge")});
  CHECK(Read32(image.code, 2) == 0x7fffffffu);
  CHECK_THROWS_AS(Link(sections, {Absolute(kCodeBase + 2 + 4 + 0x80000000ull, "past_edge")}),
                  Error);
}

TEST_CASE("R_X86_64_PLT32 to a patch function calls it directly") {
  std::vector<ImageSection> sections = {
      Text(kCall, {{.offset = 1, .type = R_X86_64_PLT32, .symbol = 0, .addend = -4}}),
      Text({0x31, 0xc0, 0xc3})};  // the callee: xor %eax,%eax; ret
  PatchImage image = Link(sections, {InImage(1, 0, "callee")});
  // The callee is the second code section, aligned to 16: kCodeBase + 0x10.
  CHECK(image.section_addresses[1] == RemotePtr(kCodeBase + 0x10));
  // L + A - P with L = S: 0x10 - 4 - 1 = 0xb. No stub or GOT slot is laid out.
  CHECK(Bytes(image.code, 0, 6) == "e8 0b 00 00 00 c3");
  CHECK(image.code.size() == 0x13);
}

TEST_CASE("R_X86_64_PLT32 to a target function goes through a stub only when out of reach") {
  std::vector<ImageSection> sections = {
      Text(kCall, {{.offset = 1, .type = R_X86_64_PLT32, .symbol = 0, .addend = -4}})};
  // Layout: .text.f [0, 6), GOT slot at 8, stub at 0x10 — the same for any symbol address.
  hotpatch::PatchLayout layout =
      hotpatch::ComputePatchLayout(sections, {Absolute(0x1000, "strlen")});
  CHECK(layout.got_offset == 8);
  CHECK(layout.stubs_offset == 0x10);
  CHECK(layout.code_size == 0x18);
  SECTION("near: a direct call") {
    PatchImage image = Link(sections, {Absolute(kCodeBase + 0x1000, "strlen")});
    CHECK(Bytes(image.code, 0, 6) == "e8 fb 0f 00 00 c3");
    CHECK(image.code.size() == 0x18);
  }
  SECTION("far: a call to the stub, which jumps through the slot holding S") {
    const uint64_t strlen_address = 0x7ff7c0012340;
    PatchImage image = Link(sections, {Absolute(strlen_address, "strlen")});
    REQUIRE(image.code.size() == 0x18);
    // call stub: 0x10 - 4 - 1 = 0xb.
    CHECK(Bytes(image.code, 0, 6) == "e8 0b 00 00 00 c3");
    CHECK(Read64(image.code, 8) == strlen_address);
    // jmp *disp32(%rip) with disp32 = 8 - (0x10 + 6) = -0xe, then int3 padding.
    CHECK(Bytes(image.code, 0x10, 8) == "ff 25 f2 ff ff ff cc cc");
  }
}

TEST_CASE("GOTPCREL relocations share one slot per symbol holding S") {
  const uint64_t environ_address = 0x7ff7c0099880;
  std::vector<uint8_t> two_loads = kMovRipRax;
  two_loads.pop_back();
  two_loads.insert(two_loads.end(), kMovRipRax.begin(), kMovRipRax.end());
  std::vector<ImageSection> sections = {
      Text(two_loads, {{.offset = 3, .type = R_X86_64_REX_GOTPCRELX, .symbol = 0, .addend = -4},
                       {.offset = 10, .type = R_X86_64_GOTPCREL, .symbol = 0, .addend = -4},
                       {.offset = 10, .type = R_X86_64_GOTPCRELX, .symbol = 1, .addend = -4}}),
      Data(std::vector<uint8_t>(8, 0))};
  PatchImage image = Link(sections, {Absolute(environ_address, "environ"), InImage(1, 0, "d")});
  // .text.f is 15 bytes; slots at 0x10 (environ) and 0x18 (d); no stubs.
  REQUIRE(image.code.size() == 0x20);
  CHECK(Read64(image.code, 0x10) == environ_address);
  CHECK(Read64(image.code, 0x18) == kDataBase);
  // G + GOT + A - P: 0x10 - 4 - 3 = 0x9.
  CHECK(Bytes(image.code, 0, 7) == "48 8b 05 09 00 00 00");
  // The last relocation at offset 10 wins: slot of d, 0x18 - 4 - 10 = 0xa.
  CHECK(Bytes(image.code, 7, 7) == "48 8b 05 0a 00 00 00");
}

TEST_CASE("R_X86_64_64 and R_X86_64_PC64 write 64-bit values") {
  const uint64_t target_function = 0x555512345678;
  std::vector<ImageSection> sections = {
      Text({0xc3}), Data(std::vector<uint8_t>(24, 0),
                         {{.offset = 0, .type = R_X86_64_64, .symbol = 0, .addend = 0x10},
                          {.offset = 8, .type = R_X86_64_64, .symbol = 1, .addend = 0},
                          {.offset = 16, .type = R_X86_64_PC64, .symbol = 0, .addend = 0}})};
  PatchImage image = Link(sections, {InImage(0, 0, ".text.f"), Absolute(target_function, "f")});
  CHECK(Read64(image.data, 0) == kCodeBase + 0x10);
  CHECK(Read64(image.data, 8) == target_function);
  CHECK(Read64(image.data, 16) == kCodeBase - (kDataBase + 16));
}

TEST_CASE("R_X86_64_32 and R_X86_64_32S check their range") {
  std::vector<ImageSection> sections = {
      Text({0xb8, 0, 0, 0, 0, 0xc3}, {{.offset = 1, .type = R_X86_64_32, .symbol = 0}}),
      Text({0x48, 0xc7, 0xc0, 0, 0, 0, 0, 0xc3},
           {{.offset = 3, .type = R_X86_64_32S, .symbol = 1, .addend = -8}})};
  PatchImage image = Link(sections, {Absolute(0xfedcba98, "low"), Absolute(0, "zero")});
  CHECK(Read32(image.code, 1) == 0xfedcba98u);
  CHECK(Read32(image.code, 0x10 + 3) == 0xfffffff8u);  // -8, sign-extended by the CPU

  std::string message = ErrorMessage(
      [&] {
        Link(sections, {Absolute(0x100000000, "above_4g"), Absolute(0, "zero")});
      },
      ErrorCode::kUnsupported);
  CHECK_THAT(message, Catch::Contains("R_X86_64_32 at .text.f+0x1 (symbol above_4g)"));
  message = ErrorMessage(
      [&] {
        Link(sections, {Absolute(0, "zero"), Absolute(0x80000008, "above_2g")});
      },
      ErrorCode::kUnsupported);
  CHECK_THAT(message, Catch::Contains("R_X86_64_32S at .text.f+0x3 (symbol above_2g)"));
}

TEST_CASE("Initial-exec and local-exec TLS of the target executable") {
  // 48 8b 05 <disp32>: mov x@gottpoff(%rip), %rax; then 64 8b 04 25 <disp32>: mov %fs:x@tpoff,
  // %eax.
  std::vector<ImageSection> sections = {
      Text({0x48, 0x8b, 0x05, 0, 0, 0, 0, 0x64, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0xc3},
           {{.offset = 3, .type = R_X86_64_GOTTPOFF, .symbol = 0, .addend = -4},
            {.offset = 11, .type = R_X86_64_TPOFF32, .symbol = 1, .addend = 0}})};
  PatchImage image = Link(sections, {TargetTls(-0x40, "vcpu_id"), TargetTls(-0x38, "depth")});
  REQUIRE(image.code.size() == 0x18);
  CHECK(Read64(image.code, 0x10) == uint64_t(-0x40));  // the slot holds the TP offset
  CHECK(Bytes(image.code, 0, 7) == "48 8b 05 09 00 00 00");
  CHECK(Bytes(image.code, 7, 8) == "64 8b 04 25 c8 ff ff ff");

  std::string message = ErrorMessage(
      [&] {
        Link(sections, {Absolute(0x1000, "not_tls"), TargetTls(-8, "depth")});
      },
      ErrorCode::kUnsupported);
  CHECK_THAT(message, Catch::Contains("R_X86_64_GOTTPOFF at .text.f+0x3 (symbol not_tls)"));
  CHECK_THAT(message, Catch::Contains("thread-locals of the target executable"));
}

TEST_CASE("Unsupported relocation types are refused by name before any placement") {
  std::vector<ImageSection> sections = {
      Text(kMovRipRax, {{.offset = 3, .type = R_X86_64_GOTOFF64, .symbol = 0, .addend = 0}})};
  std::vector<ResolvedSymbol> symbols = {Absolute(0x1000, "bar")};
  std::string message =
      ErrorMessage([&] { hotpatch::ComputeCodeSize(sections, symbols); }, ErrorCode::kUnsupported);
  CHECK(message == "relocation R_X86_64_GOTOFF64 at .text.f+0x3 (symbol bar) is not supported");

  sections[0].relocations[0].type = 99;
  message = ErrorMessage([&] { Link(sections, symbols); }, ErrorCode::kUnsupported);
  CHECK(message == "relocation R_X86_64_99 at .text.f+0x3 (symbol bar) is not supported");

  sections[0].relocations[0].type = R_X86_64_TLSGD;
  message = ErrorMessage([&] { Link(sections, symbols); }, ErrorCode::kUnsupported);
  CHECK_THAT(message, Catch::StartsWith("relocation R_X86_64_TLSGD at .text.f+0x3 (symbol bar)"));
  CHECK_THAT(message, Catch::Contains("-fPIE"));

  // An absolute address of a thread-local means nothing: each thread has its own copy.
  sections[0].relocations[0].type = R_X86_64_PC32;
  message = ErrorMessage([&] { Link(sections, {TargetTls(-8, "tls")}); }, ErrorCode::kUnsupported);
  CHECK_THAT(message, Catch::Contains("R_X86_64_PC32 at .text.f+0x3 (symbol tls)"));
}

TEST_CASE("Malformed relocations are refused as a bad bundle") {
  std::vector<ImageSection> sections = {
      Text(kCall, {{.offset = 3, .type = R_X86_64_PLT32, .symbol = 0, .addend = -4}})};
  std::string message =
      ErrorMessage([&] { Link(sections, {Absolute(0x1000, "f")}); }, ErrorCode::kBadBundle);
  CHECK_THAT(message, Catch::Contains("R_X86_64_PLT32 at .text.f+0x3 (symbol f)"));
  sections[0].relocations[0].offset = 1;
  message = ErrorMessage([&] { Link(sections, {}); }, ErrorCode::kBadBundle);
  CHECK_THAT(message, Catch::Contains("names symbol #0 of 0"));
}

TEST_CASE("ExecutableTpOffset places the executable's TLS block right below the thread pointer") {
  // Measured with glibc 2.36 (&var - %fs:0 in a PIE): PT_TLS vaddr 0x3dcc memsz 5 align 4 gives
  // -8 for the variable at offset 0; vaddr 0x3d80 memsz 0x51 align 0x40 gives -0x80.
  CHECK(hotpatch::ExecutableTpOffset(0, 0x3dcc, 5, 4) == -8);
  CHECK(hotpatch::ExecutableTpOffset(4, 0x3dcc, 5, 4) == -4);
  CHECK(hotpatch::ExecutableTpOffset(0, 0x3d80, 0x51, 0x40) == -0x80);
  CHECK(hotpatch::ExecutableTpOffset(0x50, 0x3d80, 0x51, 0x40) == -0x30);
}
