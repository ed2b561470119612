#include <catch2/catch.hpp>

#include "arch/x86_64/entry_site.h"
#include "arch/x86_64/jump_encoding.h"
#include "arch/x86_64/padding.h"
#include "arch/x86_64/stub_assembler.h"
#include "base/error.h"
#include "executable_page.h"

using hotpatch::Error;
using hotpatch::RemotePtr;
using hotpatch::RemoteRange;
using namespace hotpatch::x86_64;
namespace x86 = asmjit::x86;

TEST_CASE("AnalyzeShortEntry applies the entry rules to a 2-byte jump") {
  const RemotePtr base(0x4000);
  const uint8_t ret_only[] = {0xc3};
  CHECK_THROWS_WITH(AnalyzeShortEntry("ret_only", ret_only, base, {}),
                    Catch::Contains("too short"));
  const uint8_t return_zero[] = {0x31, 0xc0, 0xc3};  // xor %eax,%eax; ret
  CHECK_THROWS_AS(AnalyzeEntry("return_zero", return_zero, base, {}), Error);
  EntrySite site = AnalyzeShortEntry("return_zero", return_zero, base, {});
  CHECK(site.jump_at == base);
  CHECK(site.overwrite_length == 2);
  // A branch to jump_at+1 breaks a short jump too; one to jump_at+2 does not.
  const uint8_t into_second_byte[] = {0x31, 0xc0, 0x75, 0xfd, 0xc3};  // xor; jne base+1; ret
  CHECK_THROWS_WITH(AnalyzeShortEntry("into_second_byte", into_second_byte, base, {}),
                    Catch::Contains("targets 0x4001"));
  const uint8_t after_jump[] = {0x31, 0xc0, 0x75, 0xfe, 0xc3};  // xor; jne base+2; ret
  CHECK(AnalyzeShortEntry("after_jump", after_jump, base, {}).jump_at == base);
}

TEST_CASE("A 1-byte function can take the entry jump over its own trailing fill") {
  const RemotePtr base(0x4000);
  // endbr64; ret; then int3 fill up to the next 16-byte boundary, as the linker leaves it.
  std::vector<uint8_t> bytes{0xf3, 0x0f, 0x1e, 0xfa, 0xc3};
  CHECK_THROWS_AS(AnalyzeEntry("nothing", bytes, base, {}), Error);
  bytes.resize(16, 0xcc);
  EntrySite site = AnalyzeEntry("nothing", bytes, base, {});
  CHECK(site.jump_at == base + 4);
}

TEST_CASE("A short function is redirected through a jump placed in the padding after it") {
  testing::ExecutablePage page;
  const RemotePtr short_function = page.At(0x400);  // returns 0, 3 bytes, then int3 fill
  const RemotePtr next_function = page.At(0x410);
  const RemotePtr replacement = page.At(0x800);  // returns x + 100
  const uint8_t return_zero[] = {0x31, 0xc0, 0xc3};
  page.Write(short_function, return_zero);
  page.Write(next_function, return_zero);
  page.Write(replacement, AssembleStub(replacement, [](x86::Assembler& a) {
               a.lea(x86::eax, x86::ptr(x86::rdi, 100));
               a.ret();
             }));
  auto* call = page.FunctionAt<int(int)>(short_function);
  REQUIRE(call(1) == 0);

  const std::vector<RemoteRange> functions = {{short_function, short_function + 3},
                                              {next_function, next_function + 3},
                                              {replacement, replacement + 5}};
  std::vector<PaddingRun> padding =
      FindPadding(page.Bytes(page.At(0x400), 0x20), page.At(0x400), functions, kJmpRel32Length);
  // The fill after each of the two functions (the second runs to the end of the scanned bytes).
  REQUIRE(padding.size() == 2);
  const RemotePtr landing = padding[0].range.begin;
  CHECK(landing == short_function + 3);

  EntrySite site = AnalyzeShortEntry("return_zero", return_zero, short_function, {});
  REQUIRE(FitsRel8(site.jump_at + 2, landing));
  page.Write(landing, EncodeJmpRel32(landing, replacement));
  page.Write(site.jump_at, EncodeJmpRel8(site.jump_at, landing));
  CHECK(call(1) == 101);
}
