#include <catch2/catch.hpp>

#include "arch/x86_64/disassembly.h"
#include "arch/x86_64/instruction.h"
#include "base/error.h"
#include "elf_image.h"

using hotpatch::Error;
using hotpatch::ErrorCode;
using hotpatch::RemotePtr;
using namespace hotpatch::x86_64;

namespace {

// One instruction of every kind the analysis distinguishes, at 0x1000.
const uint8_t kMixedCode[] = {
    0xf3, 0x0f, 0x1e, 0xfa,                    // 0x1000 endbr64
    0x48, 0x8d, 0x05, 0x10, 0x00, 0x00, 0x00,  // 0x1004 lea 0x10(%rip),%rax
    0xe8, 0x00, 0x01, 0x00, 0x00,              // 0x100b call 0x1110
    0x74, 0x02,                                // 0x1010 je 0x1014
    0xff, 0xe0,                                // 0x1012 jmp *%rax
    0xe2, 0xfe,                                // 0x1014 loop 0x1014
    0x0f, 0x05,                                // 0x1016 syscall
    0xcc,                                      // 0x1018 int3
    0x66, 0x0f, 0x1f, 0x44, 0x00, 0x00,        // 0x1019 nopw 0x0(%rax,%rax,1)
    0xff, 0xd0,                                // 0x101f call *%rax
    0xc3,                                      // 0x1021 ret
};

}  // namespace

TEST_CASE("DecodeFunction classifies every kind of instruction the analysis needs") {
  std::vector<Instruction> code = DecodeFunction(kMixedCode, RemotePtr(0x1000));
  REQUIRE(code.size() == 11);

  CHECK(code[0].is_endbr64);
  CHECK(code[0].length == 4);

  CHECK(code[1].address == RemotePtr(0x1004));
  CHECK(code[1].rip_relative);
  CHECK_FALSE(code[1].branch_target);

  CHECK(code[2].is_call);
  CHECK_FALSE(code[2].is_jump);
  CHECK(code[2].branch_target == RemotePtr(0x1110));

  CHECK(code[3].is_jump);
  CHECK(code[3].is_conditional);
  CHECK(code[3].branch_target == RemotePtr(0x1014));

  CHECK(code[4].is_jump);
  CHECK(code[4].is_indirect_branch);
  CHECK_FALSE(code[4].is_conditional);
  CHECK_FALSE(code[4].branch_target);

  CHECK(code[5].is_jump);
  CHECK(code[5].is_conditional);
  CHECK(code[5].branch_target == RemotePtr(0x1014));

  CHECK(code[6].is_syscall);
  CHECK(code[7].is_int3);
  CHECK(code[8].is_nop);
  CHECK(code[8].length == 6);

  CHECK(code[9].is_call);
  CHECK(code[9].is_indirect_branch);

  CHECK(code[10].is_return);
  CHECK(code[10].end() == RemotePtr(0x1000 + sizeof kMixedCode));

  for (size_t i = 0; i + 1 < code.size(); ++i) {
    CHECK_FALSE(code[i].is_return);
    CHECK(code[i].end() == code[i + 1].address);
  }
}

TEST_CASE("DecodeFunction names the address of bytes that do not decode") {
  // 06 (push %es) does not exist in 64-bit mode.
  const uint8_t invalid[] = {0x90, 0x06, 0xc3};
  try {
    DecodeFunction(invalid, RemotePtr(0x7000));
    FAIL("decoded an invalid opcode");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kUnsupported);
    CHECK_THAT(e.what(), Catch::Contains("0x7001"));
  }
  // A call whose rel32 is cut off by the end of the function.
  const uint8_t truncated[] = {0x90, 0xe8, 0x00};
  CHECK_THROWS_WITH(DecodeFunction(truncated, RemotePtr(0x7000)), Catch::Contains("0x7001"));
  CHECK_FALSE(TryDecodeInstruction(std::span(truncated).subspan(1), RemotePtr(0x7001)));
}

TEST_CASE("DecodeFunction walks compiler output exactly to the end of each function") {
  testing::CompiledObject object(
      "int scale(int x, int y) { return x * y + 3; }\n"
      "int sum(const int* v, int n) { int s = 0; for (int i = 0; i < n; i++) s += v[i]; "
      "return s; }\n",
      "-O2 -fcf-protection=full -ffunction-sections");
  for (const char* name : {"scale", "sum"}) {
    INFO(name);
    testing::CodeBytes function = object.Function(name);
    std::vector<Instruction> code = DecodeFunction(function.bytes, function.address);
    REQUIRE(code.size() >= 2);
    CHECK(code.front().is_endbr64);
    CHECK(code.back().is_return);
    CHECK(code.back().end() == function.address + int64_t(function.bytes.size()));
  }
  // The loop in sum branches backwards, inside the function.
  testing::CodeBytes sum = object.Function("sum");
  bool has_backward_branch = false;
  for (const Instruction& insn : DecodeFunction(sum.bytes, sum.address)) {
    if (insn.branch_target && *insn.branch_target < insn.address) has_backward_branch = true;
  }
  CHECK(has_backward_branch);
}

TEST_CASE("Disassemble prints objdump-like lines and survives bad bytes") {
  std::string listing = Disassemble(kMixedCode, RemotePtr(0x1000));
  CHECK_THAT(listing, Catch::StartsWith("0x1000: f3 0f 1e fa"));
  CHECK_THAT(listing, Catch::Contains("endbr64"));
  CHECK_THAT(listing, Catch::Contains("0x100b: e8 00 01 00 00"));
  CHECK_THAT(listing, Catch::Contains("call 0x0000000000001110"));
  CHECK_THAT(listing, Catch::Contains("0x1021: c3"));

  std::string limited = Disassemble(kMixedCode, RemotePtr(0x1000), 2);
  CHECK(std::count(limited.begin(), limited.end(), '\n') == 3);
  CHECK_THAT(limited, Catch::Contains("(23 more bytes)"));

  const uint8_t invalid[] = {0x06, 0xc3};
  std::string bad = Disassemble(invalid, RemotePtr(0x7000));
  CHECK_THAT(bad, Catch::Contains("0x7000: 06"));
  CHECK_THAT(bad, Catch::Contains("(bad)"));
  CHECK_THAT(bad, Catch::Contains("0x7001: c3"));
}
