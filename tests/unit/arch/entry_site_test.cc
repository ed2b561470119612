#include "arch/x86_64/entry_site.h"

#include <catch2/catch.hpp>

#include "arch/x86_64/jump_encoding.h"
#include "arch/x86_64/stub_assembler.h"
#include "base/error.h"
#include "elf_image.h"

using hotpatch::Error;
using hotpatch::ErrorCode;
using hotpatch::RemotePtr;
using namespace hotpatch::x86_64;
namespace x86 = asmjit::x86;

namespace {

const char kFunctions[] =
    "int scale(int x, int y) { return x * y + 3; }\n"
    "void nothing(void) {}\n";

// Expects AnalyzeEntry to refuse, with a message that names the function, its address and the
// given reason.
void RequireRefusal(std::string_view name, std::span<const uint8_t> bytes, RemotePtr address,
                    const std::vector<FunctionPart>& other_parts, const std::string& reason) {
  try {
    AnalyzeEntry(name, bytes, address, other_parts);
    FAIL("AnalyzeEntry accepted " << name);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kUnsupported);
    CHECK_THAT(e.what(), Catch::Contains("'" + std::string(name) + "'"));
    CHECK_THAT(e.what(), Catch::Contains(address.ToString()));
    CHECK_THAT(e.what(), Catch::Contains(reason));
  }
}

// xor %eax,%eax (2 bytes) then a counting loop whose head is at `loop_offset` from the entry
// (after optional padding bytes), so the loop's back edge targets entry + loop_offset.
std::vector<uint8_t> CountingLoop(RemotePtr base, bool with_endbr64, size_t filler_nops) {
  return AssembleStub(base, [&](x86::Assembler& a) {
    if (with_endbr64) a.endbr64();
    a.xor_(x86::eax, x86::eax);
    for (size_t i = 0; i < filler_nops; ++i) a.nop();
    asmjit::Label loop = a.newLabel();
    a.bind(loop);
    a.add(x86::eax, 1);
    a.cmp(x86::eax, x86::edi);
    a.jne(loop);
    a.ret();
  });
}

}  // namespace

TEST_CASE("AnalyzeEntry puts the jump at the entry of a normal function") {
  testing::CompiledObject object(kFunctions, "-O2 -fcf-protection=none -ffunction-sections");
  testing::CodeBytes scale = object.Function("scale");
  EntrySite site = AnalyzeEntry("scale", scale.bytes, scale.address, {});
  CHECK(site.function == scale.address);
  CHECK(site.jump_at == scale.address);
  CHECK(site.overwrite_length == 5);
}

TEST_CASE("AnalyzeEntry keeps endbr64 and jumps after it") {
  testing::CompiledObject object(kFunctions, "-O2 -fcf-protection=full -ffunction-sections");
  testing::CodeBytes scale = object.Function("scale");
  REQUIRE(scale.bytes.size() >= 4);
  REQUIRE(scale.bytes[0] == 0xf3);  // the compiler did emit endbr64
  EntrySite site = AnalyzeEntry("scale", scale.bytes, scale.address, {});
  CHECK(site.function == scale.address);
  CHECK(site.jump_at == scale.address + 4);
  CHECK(site.overwrite_length == 5);
}

TEST_CASE("AnalyzeEntry refuses a function too short for the jump") {
  for (const char* flags : {"-O2 -fcf-protection=none -ffunction-sections",
                            "-O2 -fcf-protection=full -ffunction-sections"}) {
    INFO(flags);
    testing::CompiledObject object(kFunctions, flags);
    testing::CodeBytes nothing = object.Function("nothing");  // ret, or endbr64; ret
    RequireRefusal("nothing", nothing.bytes, nothing.address, {}, "too short");
  }
  // Exactly endbr64 + 5 bytes is enough: endbr64; mov $1,%eax (5 bytes) — the ret is not needed
  // for the size rule.
  const uint8_t just_enough[] = {0xf3, 0x0f, 0x1e, 0xfa, 0xb8, 0x01, 0x00, 0x00, 0x00};
  CHECK(AnalyzeEntry("just_enough", just_enough, RemotePtr(0x5000), {}).jump_at ==
        RemotePtr(0x5004));
  RequireRefusal("one_short", std::span(just_enough).first(8), RemotePtr(0x5000), {}, "too short");
}

TEST_CASE("AnalyzeEntry refuses a loop that branches into the overwritten bytes") {
  const RemotePtr base(0x400000);
  // Loop head at +2: inside (jump_at, jump_at+5).
  std::vector<uint8_t> into_entry = CountingLoop(base, false, 0);
  RequireRefusal("count", into_entry, base, {}, "targets 0x400002");
  // Same with endbr64: loop head at +6, inside (4, 9).
  std::vector<uint8_t> into_entry_ibt = CountingLoop(base, true, 0);
  RequireRefusal("count_ibt", into_entry_ibt, base, {}, "targets 0x400006");
  // Loop head at +5 (three nops pad it): exactly jump_at+5, the first byte after the jump.
  std::vector<uint8_t> after_jump = CountingLoop(base, false, 3);
  CHECK(AnalyzeEntry("count_ok", after_jump, base, {}).jump_at == base);
  // A branch to jump_at itself runs the new jmp: fine.
  std::vector<uint8_t> to_entry = AssembleStub(base, [](x86::Assembler& a) {
    asmjit::Label top = a.newLabel();
    a.bind(top);
    a.sub(x86::edi, 1);
    a.cmp(x86::edi, 0);
    a.jne(top);
    a.ret();
  });
  CHECK(AnalyzeEntry("countdown", to_entry, base, {}).jump_at == base);
}

TEST_CASE("AnalyzeEntry refuses a .cold part that branches into the overwritten bytes") {
  testing::CompiledObject object(kFunctions, "-O2 -fcf-protection=none -ffunction-sections");
  testing::CodeBytes scale = object.Function("scale");
  const RemotePtr cold_address(0x900000);
  auto back_into_entry = EncodeJmpRel32(cold_address, scale.address + 1);
  RequireRefusal("scale", scale.bytes, scale.address, {{back_into_entry, cold_address}},
                 "the branch at 0x900000");
  auto back_after_entry = EncodeJmpRel32(cold_address, scale.address + 5);
  CHECK(AnalyzeEntry("scale", scale.bytes, scale.address, {{back_after_entry, cold_address}})
            .jump_at == scale.address);
}

TEST_CASE("AnalyzeEntry names the function when its bytes do not decode") {
  const uint8_t invalid[] = {0x48, 0x89, 0xf8, 0x06, 0xc3, 0x90, 0x90};
  RequireRefusal("broken", invalid, RemotePtr(0x6000), {}, "0x6003");
}
