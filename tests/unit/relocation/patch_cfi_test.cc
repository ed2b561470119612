// BuildPatchCfi: the .eh_frame_hdr the engine writes for a bundle's linked .eh_frame, read back by
// the walker's own readers (ReadEhFrameSearchTable, FindCfaRow) from this process's memory, the
// way a stack walk reads it from a target's.
#include "engine/patch_cfi.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <vector>

#include "base/error.h"
#include "process/remote_memory.h"
#include "unwind/cfa_rows.h"
#include "unwind/eh_frame_hdr.h"

using namespace hotpatch;
using namespace hotpatch::unwind;

namespace {

// One buffer of this process: a code area with two 64-byte "functions" (nothing reads their
// bytes), a linked .eh_frame with one CIE and an FDE for each (the second function's first, so
// that the table must be sorted), and room for the .eh_frame_hdr.
class LinkedPatch {
 public:
  static constexpr size_t kCode = 0, kFunctionSize = 64, kEhFrame = 256, kHdr = 512;

  explicit LinkedPatch(uint32_t first_function_range = kFunctionSize) : bytes_(1024, 0) {
    size_t at = kEhFrame;
    // CIE: id 0, version 1, "zR", code alignment 1, data alignment -8, return address column 16,
    // augmentation data {pcrel|sdata4}; def_cfa rsp+8, return address at CFA-8.
    at = PutRecord(at, {0, 0, 0, 0, 1, 'z', 'R', 0, 1, 0x78, 16, 1, 0x1b, 0x0c, 7, 8, 0x90, 1});
    // The second function: sub $24,%rsp at 0 (4 bytes), so CFA = rsp+32 from 4 on.
    at = PutFde(at, kCode + kFunctionSize, kFunctionSize, {0x44, 0x0e, 32});
    // The first: push %rbp; mov %rsp,%rbp.
    at = PutFde(at, kCode, first_function_range, {0x41, 0x0e, 16, 0x86, 2, 0x43, 0x0d, 6});
    eh_frame_size_ = at + 4 - kEhFrame;  // the terminator, a zero length word, is already there
  }

  std::span<const uint8_t> eh_frame() const {
    return std::span(bytes_).subspan(kEhFrame, eh_frame_size_);
  }
  RemotePtr address(size_t offset) const {
    return RemotePtr(reinterpret_cast<uint64_t>(&bytes_[offset]));
  }
  PatchCfi Build() { return BuildPatchCfi(eh_frame(), address(kEhFrame), address(kHdr)); }
  void Install(const PatchCfi& cfi) {
    REQUIRE(kHdr + cfi.eh_frame_hdr.size() <= bytes_.size());
    std::copy(cfi.eh_frame_hdr.begin(), cfi.eh_frame_hdr.end(), bytes_.begin() + kHdr);
  }

 private:
  size_t PutRecord(size_t at, std::vector<uint8_t> body) {
    while (body.size() % 4 != 0) body.push_back(0);  // DW_CFA_nop padding
    uint32_t length = static_cast<uint32_t>(body.size());
    std::memcpy(&bytes_[at], &length, 4);
    std::memcpy(&bytes_[at + 4], body.data(), body.size());
    return at + 4 + body.size();
  }
  // FDE: CIE pointer (back to kEhFrame), pc_begin pcrel sdata4 (relocated: the final distance),
  // pc_range, augmentation data size 0, instructions.
  size_t PutFde(size_t at, size_t code, uint32_t range, std::vector<uint8_t> instructions) {
    std::vector<uint8_t> body(12, 0);
    uint32_t cie_pointer = static_cast<uint32_t>(at + 4 - kEhFrame);
    int32_t pc_begin = static_cast<int32_t>(static_cast<int64_t>(code) - int64_t(at + 8));
    std::memcpy(body.data(), &cie_pointer, 4);
    std::memcpy(body.data() + 4, &pc_begin, 4);
    std::memcpy(body.data() + 8, &range, 4);
    body.push_back(0);
    body.insert(body.end(), instructions.begin(), instructions.end());
    return PutRecord(at, body);
  }

  std::vector<uint8_t> bytes_;
  size_t eh_frame_size_ = 0;
};

}  // namespace

TEST_CASE("the engine's .eh_frame_hdr for patch code is what the walker searches") {
  LinkedPatch patch;
  PatchCfi cfi = patch.Build();
  CHECK(cfi.eh_frame_hdr.size() == EhFrameHdrSize(2));
  // Sorted, one range per FDE.
  REQUIRE(cfi.covered.size() == 2);
  CHECK(cfi.covered[0] == RemoteRange{patch.address(0), patch.address(64)});
  CHECK(cfi.covered[1] == RemoteRange{patch.address(64), patch.address(128)});
  patch.Install(cfi);

  RemoteMemory memory(getpid());
  StopMemoryCache cache(memory);
  EhFrameSearchTable table;
  std::string problem;
  REQUIRE(ReadEhFrameSearchTable(cache, patch.address(LinkedPatch::kHdr), &table, &problem));
  CHECK(table.fde_count == 2);

  // The first function past its prologue: CFA = rbp+16, rbp saved at CFA-16.
  auto row = FindCfaRow(cache, table, patch.address(10).value());
  REQUIRE(row.has_value());
  CHECK(row->cfa_register == 6);
  CHECK(row->cfa_offset == 16);
  // The second function past its sub: CFA = rsp+32.
  row = FindCfaRow(cache, table, patch.address(64 + 8).value());
  REQUIRE(row.has_value());
  CHECK(row->cfa_register == 7);
  CHECK(row->cfa_offset == 32);
  // Past both functions: no FDE, no row.
  CHECK_FALSE(FindCfaRow(cache, table, patch.address(200).value()).has_value());
}

TEST_CASE("FDEs that overlap are refused: a pc must have one") {
  LinkedPatch patch(/*first_function_range=*/65);
  try {
    patch.Build();
    FAIL("overlapping FDEs accepted");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kBadBundle);
    CHECK(std::string(e.what()).find("overlap") != std::string::npos);
  }
}

namespace {

RemoteRange Range(uint64_t begin, uint64_t end) {
  return {RemotePtr(begin), RemotePtr(end)};
}

PatchRecord RecordWithCode() {
  PatchRecord record;
  record.code = Range(0x1000, 0x2000);
  return record;
}

// One replaced function: its gate after the 16-byte commit flag.
PatchRecord RecordWithGate() {
  PatchRecord record = RecordWithCode();
  PatchedFunction function;
  function.gate = RemotePtr(0x1010);
  record.functions.push_back(function);
  return record;
}

}  // namespace

TEST_CASE("patch code is unwound by its CFI, stubs and gate entries by [rsp], the rest by rbp") {
  PatchRecord record = RecordWithGate();
  record.eh_frame_hdr = RemotePtr(0x1f00);
  record.cfi_ranges = {Range(0x1100, 0x1180), Range(0x1180, 0x1200)};
  record.call_stubs = Range(0x1300, 0x1340);
  PatchCodeUnwinding plan = PlanPatchCodeUnwinding(record);
  CHECK(plan.eh_frame_hdr == RemotePtr(0x1f00));
  CHECK(plan.by_cfi == record.cfi_ranges);
  // The gate's cmpb and jne (13 bytes), the stubs.
  CHECK(plan.return_address_at_sp == std::vector{Range(0x1010, 0x101d), Range(0x1300, 0x1340)});
  // The commit flag, the gate's displaced instructions, the read-only data and GOT, the table.
  CHECK(plan.by_frame_pointer == std::vector{Range(0x1000, 0x1010), Range(0x101d, 0x1100),
                                             Range(0x1200, 0x1300), Range(0x1340, 0x2000)});
}

TEST_CASE("a patch recorded without CFI or stubs is unwound by the frame-pointer rule") {
  PatchCodeUnwinding plan = PlanPatchCodeUnwinding(RecordWithGate());
  CHECK(plan.by_cfi.empty());
  CHECK(plan.return_address_at_sp == std::vector{Range(0x1010, 0x101d)});
  CHECK(plan.by_frame_pointer == std::vector{Range(0x1000, 0x1010), Range(0x101d, 0x2000)});
}

TEST_CASE("registry ranges outside the code area or overlapping are not trusted") {
  PatchRecord record = RecordWithCode();
  record.call_stubs = Range(0x1300, 0x1340);
  SECTION("a table outside the code area") {
    record.eh_frame_hdr = RemotePtr(0x3000);
    record.cfi_ranges = {Range(0x1100, 0x1180)};
  }
  SECTION("CFI claimed for code outside the area") {
    record.eh_frame_hdr = RemotePtr(0x1f00);
    record.cfi_ranges = {Range(0x1100, 0x1180), Range(0x1f80, 0x2100)};
  }
  SECTION("overlapping CFI ranges") {
    record.eh_frame_hdr = RemotePtr(0x1f00);
    record.cfi_ranges = {Range(0x1100, 0x1180), Range(0x1170, 0x1200)};
  }
  PatchCodeUnwinding plan = PlanPatchCodeUnwinding(record);
  CHECK(plan.by_cfi.empty());
  CHECK(plan.return_address_at_sp == std::vector{Range(0x1300, 0x1340)});
  CHECK(plan.by_frame_pointer == std::vector{Range(0x1000, 0x1300), Range(0x1340, 0x2000)});
}
