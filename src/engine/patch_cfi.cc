#include "engine/patch_cfi.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "base/error.h"
#include "bundle/carried_eh_frame.h"
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

// record.code minus the ranges its CFI covers.
std::vector<RemoteRange> CodeWithoutCfi(const PatchRecord& record) {
  std::vector<RemoteRange> gaps;
  RemotePtr next = record.code.begin;
  for (const RemoteRange& covered : record.cfi_ranges) {
    RemotePtr begin = std::clamp(covered.begin, record.code.begin, record.code.end);
    if (next < begin) gaps.push_back({next, begin});
    next = std::max(next, std::clamp(covered.end, record.code.begin, record.code.end));
  }
  if (next < record.code.end) gaps.push_back({next, record.code.end});
  return gaps;
}

// CFI is used only when it lies inside the patch's own code area: the registry is target memory,
// and a record pointing the walker elsewhere must not make it trust other bytes as CFI.
bool HasUsableCfi(const PatchRecord& record) {
  if (record.eh_frame_hdr.is_null() || !record.code.contains(record.eh_frame_hdr)) return false;
  for (const RemoteRange& covered : record.cfi_ranges)
    if (covered.begin < record.code.begin || covered.end > record.code.end) return false;
  return true;
}

}  // namespace

void AddPatchCodeToWalker(StackWalker& walker, const PatchRecord& record) {
  if (!HasUsableCfi(record)) {
    walker.AddCodeRangeWithoutCfi(record.code, CfiFreeRule::kFramePointer);
    return;
  }
  for (const RemoteRange& covered : record.cfi_ranges)
    walker.AddCodeRangeWithEhFrameHdr(covered, record.eh_frame_hdr);
  for (const RemoteRange& gap : CodeWithoutCfi(record))
    walker.AddCodeRangeWithoutCfi(gap, CfiFreeRule::kFramePointer);
}

void RemovePatchCodeFromWalker(StackWalker& walker, const PatchRecord& record) {
  if (!HasUsableCfi(record)) {
    walker.RemoveCodeRange(record.code);
    return;
  }
  for (const RemoteRange& covered : record.cfi_ranges) walker.RemoveCodeRange(covered);
  for (const RemoteRange& gap : CodeWithoutCfi(record)) walker.RemoveCodeRange(gap);
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
