// FindCfaRow on CFI written byte by byte into this process's memory (read back through the same
// process_vm_readv path as a tracee's): the rows of a typical frame-pointer prologue, and every
// record outside the subset declined rather than guessed.
#include "unwind/cfa_rows.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <initializer_list>
#include <random>
#include <span>
#include <vector>

#include "process/remote_memory.h"

using namespace hotpatch;
using namespace hotpatch::unwind;

namespace {

using Kind = RegisterRule::Kind;

// A .eh_frame with one CIE and one FDE, and the one-entry .eh_frame_hdr table for it, laid out in
// one buffer of this process. The function "starts" at code_begin(): nothing reads code.
class CfiImage {
 public:
  static constexpr uint32_t kFunctionSize = 64;

  // `cie_augmentation` and `cie_instructions` replace the usual "zR" CIE's (def_cfa rsp+8,
  // return address at CFA - 8); `fde_instructions` are the function's own.
  explicit CfiImage(std::vector<uint8_t> fde_instructions,
                    std::vector<uint8_t> cie_instructions = {0x0c, 7, 8, 0x90, 1},
                    std::string cie_augmentation = "zR")
      : bytes_(4096, 0) {
    size_t at = kEhFrame;
    // CIE: length, id 0, version 1, augmentation, code alignment 1, data alignment -8 (sleb128
    // 0x78), return address column 16, augmentation data (size 1: the R encoding, pcrel|sdata4).
    size_t cie = at;
    std::vector<uint8_t> body = {0, 0, 0, 0, 1};
    body.insert(body.end(), cie_augmentation.begin(), cie_augmentation.end());
    body.insert(body.end(), {0, 1, 0x78, 16});
    if (!cie_augmentation.empty()) body.insert(body.end(), {1, 0x1b});
    body.insert(body.end(), cie_instructions.begin(), cie_instructions.end());
    at = PutRecord(at, body);
    // FDE: length, CIE pointer (from this field back to the CIE), pc_begin (pcrel sdata4),
    // pc_range, augmentation data size 0, instructions.
    fde_ = at;
    uint32_t cie_pointer = static_cast<uint32_t>(fde_ + 4 - cie);
    int32_t pc_begin = static_cast<int32_t>(kCode - (fde_ + 8));
    body.assign(12, 0);
    std::memcpy(body.data(), &cie_pointer, 4);
    std::memcpy(body.data() + 4, &pc_begin, 4);
    std::memcpy(body.data() + 8, &kFunctionSize, 4);
    body.push_back(0);
    body.insert(body.end(), fde_instructions.begin(), fde_instructions.end());
    PutRecord(at, body);
    // The table: (initial location, FDE) as offsets from the .eh_frame_hdr section.
    int32_t entry[2] = {static_cast<int32_t>(kCode - kHdr), static_cast<int32_t>(fde_ - kHdr)};
    std::memcpy(&bytes_[kTable], entry, sizeof entry);
  }

  uint64_t code_begin() const { return address(kCode); }
  EhFrameSearchTable table() const {
    return {RemotePtr(address(kHdr)), RemotePtr(address(kTable)), 1};
  }
  // Overwrites the FDE's length field (a truncated or oversized record).
  void SetFdeLength(uint32_t length) { std::memcpy(&bytes_[fde_], &length, 4); }
  // The .eh_frame_hdr table and .eh_frame, for a hostile target's edits.
  std::span<uint8_t> cfi_bytes() { return std::span(bytes_).first(kCode); }

  std::optional<CfaRow> RowAt(uint64_t offset) {
    RemoteMemory memory(getpid());
    StopMemoryCache cache(memory);
    return FindCfaRow(cache, table(), code_begin() + offset);
  }

 private:
  static constexpr size_t kHdr = 0, kTable = 16, kEhFrame = 64, kCode = 2048;

  uint64_t address(size_t offset) const { return reinterpret_cast<uint64_t>(&bytes_[offset]); }
  size_t PutRecord(size_t at, std::vector<uint8_t> body) {
    while (body.size() % 4 != 0) body.push_back(0);  // DW_CFA_nop padding
    uint32_t length = static_cast<uint32_t>(body.size());
    std::memcpy(&bytes_[at], &length, 4);
    std::memcpy(&bytes_[at + 4], body.data(), body.size());
    return at + 4 + body.size();
  }

  std::vector<uint8_t> bytes_;
  size_t fde_ = 0;
};

// push %rbp; mov %rsp,%rbp; ...; a shrink-wrapped early exit; ...: what GCC writes for it.
const std::vector<uint8_t> kFramePointerFunction = {
    0x41,         // advance 1 (after push %rbp)
    0x0e, 16,     // def_cfa_offset 16
    0x86, 2,      // offset rbp at CFA - 16
    0x43,         // advance 3 (after mov %rsp,%rbp)
    0x0d, 6,      // def_cfa_register rbp
    0x4a,         // advance 10 (at the early exit's leave)
    0x0a,         // remember_state
    0x0c, 7,  8,  // def_cfa rsp+8
    0x41,         // advance 1 (past the early exit's ret)
    0x0b,         // restore_state
};

void CheckRow(const std::optional<CfaRow>& row, uint8_t cfa_register, int64_t cfa_offset,
              std::initializer_list<std::pair<int, int64_t>> saved) {
  REQUIRE(row.has_value());
  CHECK(row->cfa_register == cfa_register);
  CHECK(row->cfa_offset == cfa_offset);
  for (size_t reg = 0; reg < kDwarfRegisterCount; ++reg) {
    INFO("register " << reg);
    RegisterRule expected;
    for (auto [number, offset] : saved)
      if (static_cast<size_t>(number) == reg) expected = {Kind::kSavedAtCfa, offset};
    CHECK(row->registers[reg] == expected);
  }
}

}  // namespace

TEST_CASE("FindCfaRow gives the row in effect at each pc of a frame-pointer function") {
  CfiImage image(kFramePointerFunction);
  CheckRow(image.RowAt(0), kDwarfRsp, 8, {{kDwarfReturnAddress, -8}});
  CheckRow(image.RowAt(1), kDwarfRsp, 16, {{kDwarfReturnAddress, -8}, {kDwarfRbp, -16}});
  CheckRow(image.RowAt(3), kDwarfRsp, 16, {{kDwarfReturnAddress, -8}, {kDwarfRbp, -16}});
  CheckRow(image.RowAt(4), kDwarfRbp, 16, {{kDwarfReturnAddress, -8}, {kDwarfRbp, -16}});
  CheckRow(image.RowAt(13), kDwarfRbp, 16, {{kDwarfReturnAddress, -8}, {kDwarfRbp, -16}});
  CheckRow(image.RowAt(14), kDwarfRsp, 8, {{kDwarfReturnAddress, -8}, {kDwarfRbp, -16}});
  CheckRow(image.RowAt(15), kDwarfRbp, 16, {{kDwarfReturnAddress, -8}, {kDwarfRbp, -16}});
  CheckRow(image.RowAt(CfiImage::kFunctionSize - 1), kDwarfRbp, 16,
           {{kDwarfReturnAddress, -8}, {kDwarfRbp, -16}});
}

TEST_CASE("FindCfaRow finds no row outside the FDE's range") {
  CfiImage image(kFramePointerFunction);
  CHECK_FALSE(image.RowAt(CfiImage::kFunctionSize).has_value());
  CHECK_FALSE(image.RowAt(static_cast<uint64_t>(-1)).has_value());  // below the first entry
}

TEST_CASE("FindCfaRow marks the outermost frame's return address undefined") {
  CfiImage image({0x07, 16});  // DW_CFA_undefined rip, as glibc's _start
  std::optional<CfaRow> row = image.RowAt(5);
  REQUIRE(row.has_value());
  CHECK(row->registers[kDwarfReturnAddress].kind == Kind::kUndefined);
}

TEST_CASE("FindCfaRow declines CFI outside the subset instead of guessing") {
  SECTION("a CFA expression (PLT entries have one)") {
    CfiImage image({0x41, 0x0f, 2, 0x77, 8});  // advance 1, def_cfa_expression {breg7 +8}
    CHECK(image.RowAt(0).has_value());         // the row before it is still plain
    CHECK_FALSE(image.RowAt(1).has_value());
  }
  SECTION("a register saved in another register") {
    CfiImage image({0x09, 6, 3});  // DW_CFA_register rbp in rbx
    CHECK_FALSE(image.RowAt(0).has_value());
  }
  SECTION("a signal-frame CIE") {
    CfiImage image({}, {0x0c, 7, 8, 0x90, 1}, "zRS");
    CHECK_FALSE(image.RowAt(0).has_value());
  }
  SECTION("an unknown augmentation") {
    CfiImage image({}, {0x0c, 7, 8, 0x90, 1}, "zRX");
    CHECK_FALSE(image.RowAt(0).has_value());
  }
  SECTION("a rule for a register libunwind does not keep") {
    CfiImage image({0x05, 17, 2});  // offset_extended xmm0
    CHECK_FALSE(image.RowAt(0).has_value());
  }
  SECTION("a factored offset that does not fit 64 bits (a fuzzing finding: signed overflow)") {
    // def_cfa_sf rsp, -2^62: times the data alignment -8 it is 2^65.
    CfiImage image({0x12, 7, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40});
    CHECK_FALSE(image.RowAt(0).has_value());
  }
  SECTION("restore_state with nothing remembered") {
    CfiImage image({0x0b});
    CHECK_FALSE(image.RowAt(0).has_value());
  }
  SECTION("an instruction cut off by the record's end") {
    CfiImage image({0x0c, 7});
    image.SetFdeLength(14);  // ends after the 0x0c: def_cfa without its register and offset
    CHECK_FALSE(image.RowAt(0).has_value());
  }
  SECTION("a record longer than any real one") {
    CfiImage image({});
    image.SetFdeLength(0x7fffffff);
    CHECK_FALSE(image.RowAt(0).has_value());
  }
}

// A hostile target writes its own CFI: whatever the bytes, a row or nullopt, never a read outside
// what was copied (the asan build checks every access).
TEST_CASE("FindCfaRow survives randomly corrupted CFI") {
  std::mt19937 random(20261126);
  int rows = 0;
  for (int round = 0; round < 3000; ++round) {
    CfiImage image(kFramePointerFunction);
    std::span<uint8_t> bytes = image.cfi_bytes();
    int edits = 1 + static_cast<int>(random() % 4);
    for (int edit = 0; edit < edits; ++edit) {
      // Mostly the records themselves (at 64, about 60 bytes), sometimes the table.
      size_t at = random() % 4 != 0 ? 64 + random() % 64 : random() % bytes.size();
      bytes[at] = static_cast<uint8_t>(random());
    }
    for (uint64_t pc : {0, 1, 4, 14, 15, 63}) rows += image.RowAt(pc).has_value();
  }
  // Some edits leave the rows intact (a changed offset, a nop): the test reached the interpreter.
  CHECK(rows > 0);
}
