#include "arch/x86_64/control_flow.h"

#include <algorithm>

#include "base/remote_ptr.h"

namespace hotpatch::x86_64 {
namespace {

// The address ranges covered by the instructions, merged where they touch.
std::vector<RemoteRange> CoveredRanges(const std::vector<Instruction>& instructions) {
  std::vector<RemoteRange> ranges;
  for (const Instruction& insn : instructions) ranges.push_back({insn.address, insn.end()});
  std::sort(ranges.begin(), ranges.end());
  std::vector<RemoteRange> merged;
  for (const RemoteRange& range : ranges) {
    if (!merged.empty() && range.begin <= merged.back().end) {
      merged.back().end = std::max(merged.back().end, range.end);
    } else {
      merged.push_back(range);
    }
  }
  return merged;
}

bool Covers(const std::vector<RemoteRange>& ranges, RemotePtr address) {
  auto after = std::upper_bound(ranges.begin(), ranges.end(), address,
                                [](RemotePtr a, const RemoteRange& r) { return a < r.begin; });
  return after != ranges.begin() && std::prev(after)->contains(address);
}

}  // namespace

bool HasReturnPath(const std::vector<Instruction>& instructions) {
  std::vector<RemoteRange> covered = CoveredRanges(instructions);
  for (const Instruction& insn : instructions) {
    if (insn.is_return) return true;
    if (!insn.is_jump) continue;
    if (insn.is_indirect_branch) return true;
    if (insn.branch_target && !Covers(covered, *insn.branch_target)) return true;
  }
  return false;
}

}  // namespace hotpatch::x86_64
