#include "arch/x86_64/control_flow.h"

#include <catch2/catch.hpp>

#include "arch/x86_64/instruction.h"
#include "arch/x86_64/jump_encoding.h"
#include "elf_image.h"

using hotpatch::RemotePtr;
using namespace hotpatch::x86_64;

namespace {

std::vector<Instruction> DecodeSymbol(const testing::CompiledObject& object, const char* name) {
  testing::CodeBytes function = object.Function(name);
  return DecodeFunction(function.bytes, function.address);
}

}  // namespace

TEST_CASE("HasReturnPath tells never-returning loops from functions that return") {
  testing::CompiledObject object(
      "volatile int counter;\n"
      "void work(void);\n"
      "int helper(int);\n"
      "void spin(void) { for (;;) counter++; }\n"
      "void main_loop(void) { for (;;) work(); }\n"
      "int add(int a, int b) { return a + b; }\n"
      "int tail(int x) { return helper(x + 1); }\n"
      "int early_exit(int x) { for (;;) { if (counter == x) return x; work(); } }\n",
      "-O2 -fcf-protection=full -ffunction-sections");
  CHECK_FALSE(HasReturnPath(DecodeSymbol(object, "spin")));
  CHECK_FALSE(HasReturnPath(DecodeSymbol(object, "main_loop")));
  CHECK(HasReturnPath(DecodeSymbol(object, "add")));
  CHECK(HasReturnPath(DecodeSymbol(object, "early_exit")));
  // tail compiles to `jmp helper`: a tail call leaves the function.
  std::vector<Instruction> tail = DecodeSymbol(object, "tail");
  REQUIRE(tail.back().is_jump);
  CHECK(HasReturnPath(tail));
}

TEST_CASE("HasReturnPath follows a loop through its .cold part") {
  const RemotePtr hot(0x1000);
  const RemotePtr cold(0x9000);
  // hot: nop; jmp cold — cold: nop; jmp hot (a loop spread over both parts).
  std::vector<uint8_t> hot_bytes{0x90};
  auto to_cold = EncodeJmpRel32(hot + 1, cold);
  hot_bytes.insert(hot_bytes.end(), to_cold.begin(), to_cold.end());
  std::vector<uint8_t> cold_bytes{0x90};
  auto to_hot = EncodeJmpRel32(cold + 1, hot);
  cold_bytes.insert(cold_bytes.end(), to_hot.begin(), to_hot.end());

  std::vector<Instruction> hot_part = DecodeFunction(hot_bytes, hot);
  std::vector<Instruction> both = DecodeFunction(cold_bytes, cold);
  both.insert(both.end(), hot_part.begin(), hot_part.end());
  CHECK_FALSE(HasReturnPath(both));
  // Given only the hot part, the jump to the cold part leaves what we know: assume it returns.
  CHECK(HasReturnPath(hot_part));

  // A ret in the cold part is a way out.
  cold_bytes.push_back(0xc3);
  std::vector<Instruction> with_ret = DecodeFunction(cold_bytes, cold);
  with_ret.insert(with_ret.end(), hot_part.begin(), hot_part.end());
  CHECK(HasReturnPath(with_ret));

  // An indirect jump may be a tail call through a pointer.
  const uint8_t loop_with_indirect[] = {0x74, 0x02, 0xff, 0xe0, 0xeb, 0xfa};  // je; jmp *%rax; jmp
  CHECK(HasReturnPath(DecodeFunction(loop_with_indirect, hot)));
  const uint8_t plain_loop[] = {0x74, 0x02, 0x90, 0x90, 0xeb, 0xfa};  // je +2; nop; nop; jmp -6
  CHECK_FALSE(HasReturnPath(DecodeFunction(plain_loop, hot)));
}
