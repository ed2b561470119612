#include "arch/x86_64/padding.h"

#include <algorithm>
#include <catch2/catch.hpp>

#include "arch/x86_64/instruction.h"
#include "elf_image.h"

using hotpatch::RemotePtr;
using hotpatch::RemoteRange;
using namespace hotpatch::x86_64;

namespace {

RemoteRange Range(uint64_t begin, uint64_t end) {
  return {RemotePtr(begin), RemotePtr(end)};
}

std::vector<RemoteRange> Ranges(const std::vector<PaddingRun>& runs) {
  std::vector<RemoteRange> ranges;
  for (const PaddingRun& run : runs) ranges.push_back(run.range);
  return ranges;
}

}  // namespace

TEST_CASE("FindPadding accepts int3 and nop fill between functions, nothing else") {
  const uint8_t code[] = {
      0x31, 0xc0, 0xc3,                    // 0x2000 A: xor %eax,%eax; ret
      0xcc, 0xcc, 0xcc, 0xcc, 0xcc,        // 0x2003 int3 fill
      0x31, 0xc0, 0xc3,                    // 0x2008 B
      0x0f, 0x1f, 0x40, 0x00, 0x66, 0x90,  // 0x200b nopl 0(%rax); xchg %ax,%ax
      0x90,                                // 0x2011 nop
      0x31, 0xc0, 0xc3,                    // 0x2012 C
      0x31, 0xc0, 0xc3, 0x90, 0x90,        // 0x2015 code without a symbol: not fill
      0x31, 0xc0, 0xc3, 0x90, 0x90, 0x90,  // 0x201a D: zero-size symbol, end unknown
      0x31, 0xc0, 0xc3,                    // 0x2020 E
      0xcc, 0xcc,                          // 0x2023 fill up to the end of the code
  };
  const std::vector<RemoteRange> functions = {
      Range(0x2020, 0x2023), Range(0x2000, 0x2003), Range(0x2008, 0x200b), Range(0x2012, 0x2015),
      Range(0x201a, 0x201a), Range(0x1000, 0x1010),  // outside the code: ignored
  };
  CHECK(Ranges(FindPadding(code, RemotePtr(0x2000), functions, 1)) ==
        std::vector{Range(0x2003, 0x2008), Range(0x200b, 0x2012), Range(0x2023, 0x2025)});
  CHECK(Ranges(FindPadding(code, RemotePtr(0x2000), functions, 6)) ==
        std::vector{Range(0x200b, 0x2012)});
}

TEST_CASE("FindPadding refuses fill whose last nop would run into the next function") {
  const uint8_t code[] = {
      0xc3,        // 0x3000 A: ret
      0x90, 0x0f,  // 0x3001 nop, then the first byte of a 4-byte nop...
      0x1f, 0x40,  // 0x3003 ...whose rest is the start of B (as bytes, any would do)
      0xc3,
  };
  const std::vector<RemoteRange> functions = {Range(0x3000, 0x3001), Range(0x3003, 0x3006)};
  CHECK(FindPadding(code, RemotePtr(0x3000), functions, 1).empty());
}

TEST_CASE("FindPadding on the linked test binary finds only fill outside every function") {
  testing::ElfImage image("/proc/self/exe");
  std::optional<testing::CodeBytes> text = image.Section(".text");
  REQUIRE(text);
  REQUIRE(image.functions().size() > 100);  // not stripped: .symtab present
  std::vector<RemoteRange> extents;
  for (const testing::FunctionSymbol& function : image.functions()) {
    extents.push_back(function.extent);
  }
  const RemoteRange text_range{text->address, text->address + int64_t(text->bytes.size())};

  std::vector<PaddingRun> runs = FindPadding(text->bytes, text->address, extents, 1);
  // GCC aligns most functions to 16 bytes, so a binary this size has many gaps.
  CHECK(runs.size() > 20);
  for (const PaddingRun& run : runs) {
    INFO("padding " << run.range.begin.ToString() << "-" << run.range.end.ToString());
    CHECK(run.range.size() > 0);
    CHECK(text_range.contains(run.range.begin));
    CHECK(run.range.end <= text_range.end);
    // Zero-size symbols count too: their start is code.
    size_t functions_hit = std::count_if(extents.begin(), extents.end(), [&](const RemoteRange& f) {
      return run.range.overlaps(f) || run.range.contains(f.begin);
    });
    CHECK(functions_hit == 0);
    // Ends where code starts again: at a function or at the end of .text.
    bool ends_at_function =
        std::any_of(extents.begin(), extents.end(),
                    [&](const RemoteRange& extent) { return extent.begin == run.range.end; });
    CHECK((ends_at_function || run.range.end == text_range.end));
    auto first = text->bytes.begin() + (run.range.begin - text->address);
    std::vector<uint8_t> bytes(first, first + int64_t(run.range.size()));
    for (const Instruction& insn : DecodeFunction(bytes, run.range.begin)) {
      CHECK((insn.is_nop || insn.is_int3));
    }
  }
}
