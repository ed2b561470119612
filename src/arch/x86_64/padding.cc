#include "arch/x86_64/padding.h"

#include <algorithm>
#include <optional>

#include "arch/x86_64/instruction.h"

namespace hotpatch::x86_64 {
namespace {

bool IsEntirelyFill(std::span<const uint8_t> gap, RemotePtr address) {
  size_t offset = 0;
  while (offset < gap.size()) {
    // Decoding within the gap only: an instruction that would run into the next function is not
    // fill.
    std::optional<Instruction> insn =
        TryDecodeInstruction(gap.subspan(offset), address + int64_t(offset));
    if (!insn || !(insn->is_int3 || insn->is_nop)) return false;
    offset += insn->length;
  }
  return true;
}

}  // namespace

std::vector<PaddingRun> FindPadding(std::span<const uint8_t> code, RemotePtr address,
                                    const std::vector<RemoteRange>& function_extents,
                                    size_t min_size) {
  const RemoteRange whole{address, address + int64_t(code.size())};
  struct Extent {
    RemoteRange range;  // clipped to `whole`
    bool end_unknown;   // a zero-size symbol: where its code ends is not known
    auto operator<=>(const Extent&) const = default;
  };
  std::vector<Extent> extents;
  for (const RemoteRange& extent : function_extents) {
    bool end_unknown = extent.size() == 0;
    bool before = end_unknown ? extent.begin < whole.begin : extent.end <= whole.begin;
    if (before || extent.begin >= whole.end) continue;
    extents.push_back(
        {{std::max(extent.begin, whole.begin), std::min(extent.end, whole.end)}, end_unknown});
  }
  std::sort(extents.begin(), extents.end());

  std::vector<PaddingRun> runs;
  auto consider_gap = [&](RemotePtr begin, RemotePtr end) {
    if (end <= begin || size_t(end - begin) < min_size) return;
    std::span<const uint8_t> gap = code.subspan(size_t(begin - address), size_t(end - begin));
    if (IsEntirelyFill(gap, begin)) runs.push_back({{begin, end}});
  };

  RemotePtr cursor = whole.begin;
  bool cursor_end_unknown = false;
  for (const auto& [range, end_unknown] : extents) {
    if (range.begin > cursor && !cursor_end_unknown) consider_gap(cursor, range.begin);
    if (range.end >= cursor) {
      cursor_end_unknown = end_unknown;
      cursor = range.end;
    }
  }
  if (!cursor_end_unknown) consider_gap(cursor, whole.end);
  return runs;
}

}  // namespace hotpatch::x86_64
