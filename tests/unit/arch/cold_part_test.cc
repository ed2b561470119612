#include <catch2/catch.hpp>

#include "arch/x86_64/control_flow.h"
#include "arch/x86_64/entry_site.h"
#include "arch/x86_64/instruction.h"
#include "elf_image.h"

using hotpatch::RemotePtr;
using hotpatch::RemoteRange;
using namespace hotpatch::x86_64;

namespace {

// GCC moves the path that calls a cold function into "<name>.cold", a separate symbol that
// jumps back into the function.
const char kColdSplit[] =
    "#include <stdio.h>\n"
    "__attribute__((cold, noinline)) void report(int n) { fprintf(stderr, \"slow %d\\n\", n); }\n"
    "void serve(volatile int* flag) {\n"
    "  int n = 0;\n"
    "  for (;;) {\n"
    "    n++;\n"
    "    if (n > 1000000) { report(n); fprintf(stderr, \"again\\n\"); n = 0; }\n"
    "    *flag = n;\n"
    "  }\n"
    "}\n"
    "int wait_for(volatile int* flag, int value) {\n"
    "  int n = 0;\n"
    "  for (;;) {\n"
    "    if (*flag == value) return n;\n"
    "    n++;\n"
    "    if (n > 1000000) { report(n); fprintf(stderr, \"again\\n\"); n = 0; }\n"
    "  }\n"
    "}\n";

std::vector<Instruction> Decode(const testing::CodeBytes& code) {
  return DecodeFunction(code.bytes, code.address);
}

bool BranchesInto(const std::vector<Instruction>& from, const testing::CodeBytes& to) {
  RemoteRange range{to.address, to.address + int64_t(to.bytes.size())};
  for (const Instruction& insn : from) {
    if (insn.branch_target && range.contains(*insn.branch_target)) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("A function and its .cold part are analysed together") {
  testing::CompiledObject library(kColdSplit, "-O2 -fcf-protection=full",
                                  testing::CompiledObject::Output::kSharedLibrary);
  for (const char* name : {"serve", "wait_for"}) {
    INFO(name);
    testing::CodeBytes hot = library.Function(name);
    testing::CodeBytes cold = library.Function(std::string(name) + ".cold");
    std::vector<Instruction> hot_code = Decode(hot);
    std::vector<Instruction> cold_code = Decode(cold);
    // The split this test is about really happened: each part branches into the other.
    REQUIRE(BranchesInto(hot_code, cold));
    REQUIRE(BranchesInto(cold_code, hot));

    EntrySite site = AnalyzeEntry(name, hot.bytes, hot.address, {{cold.bytes, cold.address}});
    CHECK(site.jump_at == hot.address + 4);

    std::vector<Instruction> whole = hot_code;
    whole.insert(whole.end(), cold_code.begin(), cold_code.end());
    // Alone, the hot part's jump to .cold looks like a way out; together they are one loop.
    CHECK(HasReturnPath(hot_code));
    CHECK(HasReturnPath(whole) == (std::string(name) == "wait_for"));
  }
}
