#include "arch/x86_64/jump_encoding.h"

#include <catch2/catch.hpp>
#include <cstring>
#include <limits>

#include "arch/x86_64/entry_site.h"
#include "arch/x86_64/instruction.h"
#include "arch/x86_64/stub_assembler.h"
#include "base/error.h"
#include "executable_page.h"

using hotpatch::Error;
using hotpatch::ErrorCode;
using hotpatch::RemotePtr;
using namespace hotpatch::x86_64;
namespace x86 = asmjit::x86;

TEST_CASE("EncodeJmpRel32 round-trips through the decoder") {
  const RemotePtr from(0x555555554000);
  for (int64_t distance :
       {int64_t(0x100000), int64_t(-0x100000), int64_t(5), int64_t(0), int64_t(-5)}) {
    RemotePtr to = from + distance;
    auto bytes = EncodeJmpRel32(from, to);
    std::vector<Instruction> decoded = DecodeFunction(bytes, from);
    REQUIRE(decoded.size() == 1);
    CHECK(decoded[0].is_jump);
    CHECK_FALSE(decoded[0].is_conditional);
    CHECK(decoded[0].length == 5);
    CHECK(decoded[0].branch_target == to);
  }
}

TEST_CASE("EncodeJmpRel32 enforces the ±2 GiB reach from the next instruction") {
  const RemotePtr from(0x7f0000000000);
  const RemotePtr next = from + 5;
  const int64_t max = std::numeric_limits<int32_t>::max();
  const int64_t min = std::numeric_limits<int32_t>::min();

  CHECK(FitsRel32(next, next + max));
  CHECK_FALSE(FitsRel32(next, next + (max + 1)));
  CHECK(FitsRel32(next, next + min));
  CHECK_FALSE(FitsRel32(next, next + (min - 1)));

  CHECK(DecodeFunction(EncodeJmpRel32(from, next + max), from)[0].branch_target == next + max);
  CHECK(DecodeFunction(EncodeJmpRel32(from, next + min), from)[0].branch_target == next + min);
  try {
    EncodeJmpRel32(from, next + (max + 1));
    FAIL("encoded an unreachable jump");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kUnsupported);
    CHECK_THAT(e.what(), Catch::Contains(from.ToString()));
  }
  CHECK_THROWS_AS(EncodeJmpRel32(from, next + (min - 1)), Error);
}

TEST_CASE("EncodeJmpRel8 round-trips and enforces its reach") {
  const RemotePtr from(0x1000);
  CHECK(DecodeFunction(EncodeJmpRel8(from, from + 2 + 127), from)[0].branch_target ==
        from + 2 + 127);
  CHECK(DecodeFunction(EncodeJmpRel8(from, from + 2 - 128), from)[0].branch_target ==
        from + 2 - 128);
  CHECK_THROWS_AS(EncodeJmpRel8(from, from + 2 + 128), Error);
  CHECK_THROWS_AS(EncodeJmpRel8(from, from + 2 - 129), Error);
}

TEST_CASE("EncodeAbsoluteJump decodes as jmp through the quad that follows it") {
  const RemotePtr at(0x1000);
  const RemotePtr to(0x7fffdeadbeef);
  std::vector<uint8_t> bytes = EncodeAbsoluteJump(at, to);
  REQUIRE(bytes.size() == kAbsoluteJumpLength);
  std::optional<Instruction> jmp = TryDecodeInstruction(bytes, at);
  REQUIRE(jmp);
  CHECK(jmp->length == 6);
  CHECK(jmp->is_jump);
  CHECK(jmp->is_indirect_branch);
  CHECK(jmp->rip_relative);
  uint64_t quad;
  std::memcpy(&quad, bytes.data() + 6, sizeof quad);
  CHECK(quad == to.value());
}

TEST_CASE("JumpPatternTarget reads back every jump pattern we write, and nothing else") {
  const RemotePtr at(0x555555554000);
  for (RemotePtr to : {at + 0x1234, at - 0x1234, at + 5}) {
    CHECK(JumpPatternTarget(EncodeJmpRel32(at, to), at) == to);
  }
  CHECK(JumpPatternTarget(EncodeJmpRel8(at, at - 100), at) == at - 100);
  CHECK(JumpPatternTarget(EncodeAbsoluteJump(at, RemotePtr(0x7fff12345678)), at) ==
        RemotePtr(0x7fff12345678));

  const uint8_t prologue[] = {0xf3, 0x0f, 0x1e, 0xfa, 0x55};  // endbr64; push %rbp
  CHECK_FALSE(JumpPatternTarget(prologue, at));
  const uint8_t cut_off[] = {0xe9, 0x00, 0x00};
  CHECK_FALSE(JumpPatternTarget(cut_off, at));
  const uint8_t other_indirect[] = {0xff, 0x25, 0x10, 0x00, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0};
  CHECK_FALSE(JumpPatternTarget(other_indirect, at));
}

TEST_CASE("Emitted jumps run: entry patch, revert, absolute and short jumps") {
  testing::ExecutablePage page;
  const RemotePtr original = page.At(0);
  const RemotePtr replacement = page.At(0x100);
  // original(x) = x + 1, with endbr64 as -fcf-protection=full would emit it.
  std::vector<uint8_t> original_code = AssembleStub(original, [](x86::Assembler& a) {
    a.endbr64();
    a.mov(x86::eax, x86::edi);
    a.add(x86::eax, 1);
    a.ret();
  });
  // replacement(x) = 3 * x.
  std::vector<uint8_t> replacement_code = AssembleStub(replacement, [](x86::Assembler& a) {
    a.endbr64();
    a.lea(x86::eax, x86::ptr(x86::rdi, x86::rdi, 1));
    a.ret();
  });
  page.Write(original, original_code);
  page.Write(replacement, replacement_code);
  auto* call_original = page.FunctionAt<int(int)>(original);
  REQUIRE(call_original(5) == 6);

  EntrySite site = AnalyzeEntry("original", original_code, original, {});
  REQUIRE(site.jump_at == original + 4);
  std::vector<uint8_t> saved(page.Bytes(site.jump_at, site.overwrite_length).begin(),
                             page.Bytes(site.jump_at, site.overwrite_length).end());
  page.Write(site.jump_at, EncodeJmpRel32(site.jump_at, replacement));
  CHECK(call_original(5) == 15);
  CHECK(page.Bytes(original, 4)[0] == 0xf3);  // endbr64 kept

  page.Write(site.jump_at, saved);  // revert
  CHECK(call_original(5) == 6);

  // A far stub: jmp *0(%rip); .quad replacement.
  const RemotePtr far_stub = page.At(0x200);
  page.Write(far_stub, EncodeAbsoluteJump(far_stub, replacement));
  CHECK(page.FunctionAt<int(int)>(far_stub)(7) == 21);

  // A short jump into "padding" that holds the rel32 jump on: the way around a short function.
  const RemotePtr short_entry = page.At(0x300);
  const RemotePtr padding = page.At(0x300 + 0x40);
  page.Write(short_entry, EncodeJmpRel8(short_entry, padding));
  page.Write(padding, EncodeJmpRel32(padding, replacement));
  CHECK(page.FunctionAt<int(int)>(short_entry)(4) == 12);
}

TEST_CASE("AssembleStub resolves absolute branch targets for its base address") {
  testing::ExecutablePage page;
  const RemotePtr target = page.At(0x800);
  const RemotePtr stub = page.At(0x10);
  page.Write(target, AssembleStub(target, [](x86::Assembler& a) {
               a.mov(x86::eax, 42);
               a.ret();
             }));
  std::vector<uint8_t> stub_code = AssembleStub(stub, [&](x86::Assembler& a) {
    a.endbr64();
    a.jmp(target.value());
  });
  std::vector<Instruction> decoded = DecodeFunction(stub_code, stub);
  REQUIRE(decoded.size() == 2);
  CHECK(decoded[1].branch_target == target);
  page.Write(stub, stub_code);
  CHECK(page.FunctionAt<int()>(stub)() == 42);
}

namespace {

int TimesSeven(int x) {
  return 7 * x;
}

}  // namespace

TEST_CASE("AssembleStub reaches a target beyond rel32 through its address table") {
  testing::ExecutablePage page;
  const RemotePtr stub = page.At(0x20);
  const RemotePtr far_function(reinterpret_cast<uintptr_t>(&TimesSeven));
  std::vector<uint8_t> stub_code = AssembleStub(stub, [&](x86::Assembler& a) {
    a.sub(x86::rsp, 8);  // keep the stack 16-byte aligned at the call (SysV psABI)
    a.call(far_function.value());
    a.add(x86::eax, 1);
    a.add(x86::rsp, 8);
    a.ret();
  });
  REQUIRE(DecodeFunction(std::span(stub_code).first(4), stub).size() == 1);  // sub $8,%rsp
  std::optional<Instruction> call = TryDecodeInstruction(std::span(stub_code).subspan(4), stub + 4);
  REQUIRE(call);
  CHECK(call->is_call);
  // Whether the call needs the table depends on where mmap put the page relative to the
  // executable; either encoding must reach the same function.
  if (!FitsRel32(stub + 4 + 5, far_function)) {
    CHECK(call->is_indirect_branch);
    CHECK(call->rip_relative);
  } else {
    CHECK(call->branch_target == far_function);
  }
  page.Write(stub, stub_code);
  CHECK(page.FunctionAt<int(int)>(stub)(6) == 43);
}

TEST_CASE("AssembleStub refuses a branch to a label that was never bound") {
  try {
    AssembleStub(RemotePtr(0x1000), [](x86::Assembler& a) {
      asmjit::Label nowhere = a.newLabel();
      a.jmp(nowhere);
    });
    FAIL("assembled a jump to an unbound label");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kInternal);
    CHECK_THAT(e.what(), Catch::Contains("unbound label"));
  }
}
