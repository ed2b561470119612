#include "arch/x86_64/displaced_instructions.h"

#include <catch2/catch.hpp>
#include <cstring>

#include "arch/x86_64/instruction.h"
#include "arch/x86_64/stub_assembler.h"
#include "base/error.h"
#include "executable_page.h"

using hotpatch::Error;
using hotpatch::ErrorCode;
using hotpatch::RemotePtr;
using namespace hotpatch::x86_64;
namespace x86 = asmjit::x86;

namespace {

// Writes `function` at `original`, displaces its first instructions (>= 5 bytes) to `moved` and
// returns what they consumed; calling `moved` must then behave like calling `original`.
size_t Displace(testing::ExecutablePage& page, RemotePtr original, RemotePtr moved,
                const std::vector<uint8_t>& function) {
  page.Write(original, function);
  DisplacedCode displaced = RelocateDisplacedInstructions(function, original, 5, moved);
  page.Write(moved, displaced.bytes);
  return displaced.consumed;
}

}  // namespace

TEST_CASE("Displaced instructions keep what a rip-relative operand addresses") {
  testing::ExecutablePage page;
  const RemotePtr data = page.At(0xf00);
  const int32_t forty = 40;
  page.Write(data, std::span(reinterpret_cast<const uint8_t*>(&forty), sizeof forty));
  const RemotePtr original = page.At(0);
  // lea data(%rip),%rax (7 bytes, the whole displaced part); mov (%rax),%eax; add %edi,%eax; ret
  std::vector<uint8_t> function = AssembleStub(original, [&](x86::Assembler& a) {
    a.lea(x86::rax, x86::ptr(data.value()));
    a.mov(x86::eax, x86::dword_ptr(x86::rax));
    a.add(x86::eax, x86::edi);
    a.ret();
  });
  REQUIRE(TryDecodeInstruction(function, original)->rip_relative);
  page.Write(original, function);
  REQUIRE(page.FunctionAt<int(int)>(original)(2) == 42);

  const RemotePtr moved = page.At(0x800);
  CHECK(Displace(page, original, moved, function) == 7);
  CHECK(page.FunctionAt<int(int)>(moved)(2) == 42);

  // cmpl $40,data(%rip): the disp32 sits before an imm8, which must stay untouched.
  const RemotePtr compares = page.At(0x100);
  std::vector<uint8_t> comparing = AssembleStub(compares, [&](x86::Assembler& a) {
    a.cmp(x86::dword_ptr(data.value()), 40);
    a.sete(x86::al);
    a.movzx(x86::eax, x86::al);
    a.ret();
  });
  REQUIRE(TryDecodeInstruction(comparing, compares)->rip_relative);
  const RemotePtr compares_moved = page.At(0x900);
  CHECK(Displace(page, compares, compares_moved, comparing) == 7);
  CHECK(page.FunctionAt<int()>(compares_moved)() == 1);
}

TEST_CASE("Displaced relative calls and conditional jumps keep their targets") {
  testing::ExecutablePage page;
  const RemotePtr helper = page.At(0x100);  // returns 5
  page.Write(helper, AssembleStub(helper, [](x86::Assembler& a) {
               a.mov(x86::eax, 5);
               a.ret();
             }));

  // call helper (5 bytes, displaced); add %edi,%eax; ret
  const RemotePtr calls = page.At(0);
  std::vector<uint8_t> calling = AssembleStub(calls, [&](x86::Assembler& a) {
    a.call(helper.value());
    a.add(x86::eax, x86::edi);
    a.ret();
  });
  CHECK(Displace(page, calls, page.At(0x800), calling) == 5);
  CHECK(page.FunctionAt<int(int)>(page.At(0x800))(3) == 8);

  // test %edi,%edi; je zero (rel8, displaced as rel32); mov $1,%eax; ret; zero: xor %eax,%eax; ret
  const RemotePtr branches = page.At(0x200);
  std::vector<uint8_t> branching = AssembleStub(branches, [](x86::Assembler& a) {
    asmjit::Label zero = a.newLabel();
    a.test(x86::edi, x86::edi);
    a.short_().je(zero);
    a.mov(x86::eax, 1);
    a.ret();
    a.bind(zero);
    a.xor_(x86::eax, x86::eax);
    a.ret();
  });
  const RemotePtr moved = page.At(0xa00);
  CHECK(Displace(page, branches, moved, branching) >= 5);
  CHECK(page.FunctionAt<int(int)>(moved)(7) == 1);
  CHECK(page.FunctionAt<int(int)>(moved)(0) == 0);
}

TEST_CASE("Displacement refuses what cannot move") {
  const RemotePtr from(0x10000);
  // loop has only a rel8 form.
  const uint8_t loop_at_entry[] = {0xe2, 0xfe, 0x90, 0x90, 0x90, 0xc3};
  CHECK_THROWS_AS(RelocateDisplacedInstructions(loop_at_entry, from, 5, RemotePtr(0x20000)), Error);
  // A rip-relative operand more than 2 GiB from where it would run.
  const uint8_t rip_load[] = {0x48, 0x8b, 0x05, 0x00, 0x10, 0x00, 0x00, 0xc3};  // mov 0x1000(%rip)
  try {
    RelocateDisplacedInstructions(rip_load, from, 5, RemotePtr(0x7f0000000000));
    FAIL("moved a rip-relative operand out of its reach");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kUnsupported);
    CHECK_THAT(e.what(), Catch::Contains(from.ToString()));
  }
}
