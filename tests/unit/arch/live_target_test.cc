#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "arch/x86_64/control_flow.h"
#include "arch/x86_64/entry_site.h"
#include "arch/x86_64/instruction.h"
#include "arch/x86_64/padding.h"
#include "elf_image.h"
#include "process/remote_memory.h"
#include "support/target_process.h"

using hotpatch::RemoteMemory;
using hotpatch::RemotePtr;
using hotpatch::RemoteRange;
using hotpatch::test::TargetPath;
using hotpatch::test::TargetProcess;
using namespace hotpatch::x86_64;

namespace {

// "ready tid=T main_loop=0x55... do_work=0x55..." -> the address after "name=".
RemotePtr AddressInLine(const std::string& line, const std::string& name) {
  size_t at = line.find(" " + name + "=");
  if (at == std::string::npos) throw std::runtime_error("no " + name + " in: " + line);
  return RemotePtr(std::strtoull(line.c_str() + at + name.size() + 2, nullptr, 16));
}

const testing::FunctionSymbol& Symbol(const testing::ElfImage& image, const std::string& name) {
  for (const testing::FunctionSymbol& symbol : image.functions()) {
    if (symbol.name == name) return symbol;
  }
  throw std::runtime_error("no symbol " + name);
}

}  // namespace

TEST_CASE("Code read from a live target: never-returning loop, entry site, padding") {
  const std::string program = TargetPath("never_returns");
  TargetProcess target(program);
  std::string ready = target.WaitForLine("ready");
  RemoteMemory memory(target.pid());
  testing::ElfImage image(program);

  const RemotePtr main_loop = AddressInLine(ready, "main_loop");
  const RemotePtr do_work = AddressInLine(ready, "do_work");
  const testing::FunctionSymbol& main_loop_symbol = Symbol(image, "main_loop");
  const testing::FunctionSymbol& do_work_symbol = Symbol(image, "do_work");
  const int64_t load_bias = main_loop - main_loop_symbol.extent.begin;
  REQUIRE(do_work == do_work_symbol.extent.begin + load_bias);

  std::vector<uint8_t> main_loop_code = memory.Read(main_loop, main_loop_symbol.extent.size());
  std::vector<uint8_t> do_work_code = memory.Read(do_work, do_work_symbol.extent.size());
  CHECK_FALSE(HasReturnPath(DecodeFunction(main_loop_code, main_loop)));
  CHECK(HasReturnPath(DecodeFunction(do_work_code, do_work)));

  EntrySite site = AnalyzeEntry("do_work", do_work_code, do_work, {});
  bool has_endbr64 = DecodeFunction(do_work_code, do_work).front().is_endbr64;
  CHECK(site.jump_at == do_work + (has_endbr64 ? 4 : 0));

  // The padding of the mapped .text is the padding of the file's .text, moved by the load bias.
  std::optional<testing::CodeBytes> text = image.Section(".text");
  REQUIRE(text);
  const RemotePtr live_text = text->address + load_bias;
  std::vector<uint8_t> live_text_code = memory.Read(live_text, text->bytes.size());
  CHECK(live_text_code == text->bytes);  // nobody patched it: the mapping holds the file's bytes
  std::vector<RemoteRange> file_extents, live_extents;
  for (const testing::FunctionSymbol& symbol : image.functions()) {
    file_extents.push_back(symbol.extent);
    live_extents.push_back({symbol.extent.begin + load_bias, symbol.extent.end + load_bias});
  }
  std::vector<PaddingRun> file_padding = FindPadding(text->bytes, text->address, file_extents, 1);
  std::vector<PaddingRun> live_padding = FindPadding(live_text_code, live_text, live_extents, 1);
  REQUIRE_FALSE(live_padding.empty());
  REQUIRE(live_padding.size() == file_padding.size());
  for (size_t i = 0; i < live_padding.size(); ++i) {
    CHECK(live_padding[i].range.begin == file_padding[i].range.begin + load_bias);
    CHECK(live_padding[i].range.size() == file_padding[i].range.size());
  }
  // main_loop is followed by fill up to the next function (-ffunction-sections, 16-byte
  // alignment) unless it happens to end on a boundary.
  RemotePtr main_loop_end = main_loop + int64_t(main_loop_code.size());
  if (main_loop_end.value() % 16 != 0) {
    bool fill_after_main_loop = false;
    for (const PaddingRun& run : live_padding) {
      if (run.range.begin == main_loop_end) fill_after_main_loop = true;
    }
    CHECK(fill_after_main_loop);
  }
}
