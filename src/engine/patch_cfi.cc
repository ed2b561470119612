#include "engine/patch_cfi.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "base/error.h"
#include "bundle/carried_eh_frame.h"
#include "engine/entry_gate.h"
#include "unwind/eh_frame_hdr.h"
#include "unwind/stack_walker.h"

namespace hotpatch {
namespace {

using unwind::EhFrameHdrHeader;

// LSB "The .eh_frame_hdr section": the header, the encoded .eh_frame pointer, the encoded FDE
// count, then the table.
constexpr size_t kPointerOffset = sizeof(EhFrameHdrHeader);
constexpr size_t kCountOffset = kPointerOffset + 4;
constexpr size_t kTableOffset = kCountOffset + 4;
constexpr size_t kTableEntrySize = 8;  // two DW_EH_PE_datarel | DW_EH_PE_sdata4 values

int32_t Distance(RemotePtr to, RemotePtr from, const char* what) {
  int64_t distance = static_cast<int64_t>(to.value() - from.value());
  if (distance < std::numeric_limits<int32_t>::min() ||
      distance > std::numeric_limits<int32_t>::max())
    throw Error(ErrorCode::kBadBundle, std::string("patch CFI: ") + what + " " + to.ToString() +
                                           " is beyond sdata4 reach of " + from.ToString());
  return static_cast<int32_t>(distance);
}

void Put32(std::vector<uint8_t>& bytes, size_t offset, uint32_t value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);  // little-endian, like the target
}

struct TableEntry {
  RemotePtr initial_location;
  RemotePtr fde;
  uint32_t pc_range = 0;
};

// `area` minus `taken` (sorted, not overlapping each other), in order.
std::vector<RemoteRange> Subtract(RemoteRange area, const std::vector<RemoteRange>& taken) {
  std::vector<RemoteRange> rest;
  RemotePtr next = area.begin;
  for (const RemoteRange& range : taken) {
    RemotePtr begin = std::clamp(range.begin, area.begin, area.end);
    if (next < begin) rest.push_back({next, begin});
    next = std::max(next, std::clamp(range.end, area.begin, area.end));
  }
  if (next < area.end) rest.push_back({next, area.end});
  return rest;
}

// The registry is target memory: ranges that leave the patch's own code area, or overlap, are not
// trusted to tell the walker anything (they could make it read other bytes as CFI).
bool InsideCodeArea(const PatchRecord& record, const std::vector<RemoteRange>& ranges) {
  for (size_t i = 0; i < ranges.size(); ++i) {
    if (ranges[i].begin < record.code.begin || ranges[i].end > record.code.end) return false;
    if (i > 0 && ranges[i - 1].end > ranges[i].begin) return false;
  }
  return true;
}

}  // namespace

PatchCodeUnwinding PlanPatchCodeUnwinding(const PatchRecord& record) {
  PatchCodeUnwinding plan;
  std::vector<RemoteRange> taken;
  if (!record.eh_frame_hdr.is_null() && record.code.contains(record.eh_frame_hdr) &&
      InsideCodeArea(record, record.cfi_ranges)) {
    plan.eh_frame_hdr = record.eh_frame_hdr;
    plan.by_cfi = record.cfi_ranges;
    taken = record.cfi_ranges;
  }
  // Code that touches no stack and is entered at a function's first instruction, by a call
  // (stubs) or the entry's jump (a gate's compare and branch).
  std::vector<RemoteRange> at_entry;
  if (record.call_stubs.begin < record.call_stubs.end) at_entry.push_back(record.call_stubs);
  for (const PatchedFunction& function : record.functions)
    at_entry.push_back({function.gate, function.gate + int64_t(kEntryGateCompareSize)});
  std::sort(at_entry.begin(), at_entry.end());
  for (const RemoteRange& range : at_entry) {
    if (!InsideCodeArea(record, {range})) continue;
    for (const RemoteRange& part : Subtract(range, taken)) {
      plan.return_address_at_sp.push_back(part);
      taken.push_back(part);
    }
    std::sort(taken.begin(), taken.end());
  }
  plan.by_frame_pointer = Subtract(record.code, taken);
  return plan;
}

void AddPatchCodeToWalker(StackWalker& walker, const PatchRecord& record) {
  PatchCodeUnwinding plan = PlanPatchCodeUnwinding(record);
  for (const RemoteRange& range : plan.by_cfi)
    walker.AddCodeRangeWithEhFrameHdr(range, plan.eh_frame_hdr);
  for (const RemoteRange& range : plan.return_address_at_sp)
    walker.AddCodeRangeWithoutCfi(range, CfiFreeRule::kReturnAddressAtSp);
  for (const RemoteRange& range : plan.by_frame_pointer)
    walker.AddCodeRangeWithoutCfi(range, CfiFreeRule::kFramePointer);
}

void RemovePatchCodeFromWalker(StackWalker& walker, const PatchRecord& record) {
  PatchCodeUnwinding plan = PlanPatchCodeUnwinding(record);
  for (const auto* ranges : {&plan.by_cfi, &plan.return_address_at_sp, &plan.by_frame_pointer})
    for (const RemoteRange& range : *ranges) walker.RemoveCodeRange(range);
}

uint64_t EhFrameHdrSize(size_t fde_count) {
  return kTableOffset + kTableEntrySize * fde_count;
}

PatchCfi BuildPatchCfi(std::span<const uint8_t> linked_eh_frame, RemotePtr eh_frame,
                       RemotePtr eh_frame_hdr) {
  std::vector<TableEntry> entries;
  for (const bundle::EhFrameRecord& record : bundle::ParseCarriedEhFrame(linked_eh_frame)) {
    if (record.is_cie) continue;
    // pc_begin is DW_EH_PE_pcrel | DW_EH_PE_sdata4 (the carried subset): relative to the field.
    int32_t pc_begin = 0;
    std::memcpy(&pc_begin, linked_eh_frame.data() + record.pc_begin_field, sizeof pc_begin);
    RemotePtr field = eh_frame + static_cast<int64_t>(record.pc_begin_field);
    entries.push_back(
        {field + pc_begin, eh_frame + static_cast<int64_t>(record.offset), record.pc_range});
  }
  // The unwinder binary-searches by initial location.
  std::sort(entries.begin(), entries.end(), [](const TableEntry& a, const TableEntry& b) {
    return a.initial_location < b.initial_location;
  });

  PatchCfi cfi;
  cfi.eh_frame_hdr.assign(EhFrameHdrSize(entries.size()), 0);
  EhFrameHdrHeader header{1, unwind::kDwEhPePcrel | unwind::kDwEhPeSdata4, unwind::kDwEhPeUdata4,
                          unwind::kDwEhPeDatarel | unwind::kDwEhPeSdata4};
  std::memcpy(cfi.eh_frame_hdr.data(), &header, sizeof header);
  Put32(cfi.eh_frame_hdr, kPointerOffset,
        Distance(eh_frame, eh_frame_hdr + int64_t(kPointerOffset), ".eh_frame"));
  Put32(cfi.eh_frame_hdr, kCountOffset, static_cast<uint32_t>(entries.size()));
  for (size_t i = 0; i < entries.size(); ++i) {
    const TableEntry& entry = entries[i];
    size_t at = kTableOffset + i * kTableEntrySize;
    Put32(cfi.eh_frame_hdr, at, Distance(entry.initial_location, eh_frame_hdr, "code"));
    Put32(cfi.eh_frame_hdr, at + 4, Distance(entry.fde, eh_frame_hdr, "FDE"));
    RemoteRange covered{entry.initial_location,
                        entry.initial_location + static_cast<int64_t>(entry.pc_range)};
    // A pc must have one FDE: the table search would pick either.
    if (!cfi.covered.empty() && cfi.covered.back().end > covered.begin)
      throw Error(ErrorCode::kBadBundle, "patch CFI: FDEs for " +
                                             cfi.covered.back().begin.ToString() + " and " +
                                             covered.begin.ToString() + " overlap");
    if (covered.begin < covered.end) cfi.covered.push_back(covered);
  }
  return cfi;
}

}  // namespace hotpatch
