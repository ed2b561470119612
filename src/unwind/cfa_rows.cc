#include "unwind/cfa_rows.h"

#include <cstring>
#include <span>
#include <string_view>
#include <vector>

namespace hotpatch::unwind {

namespace {

// Real CIEs and FDEs are tens of bytes; glibc's largest are a few hundred. A bigger length field
// is a corrupt or hostile record, not worth copying out of the tracee.
constexpr uint32_t kMaxRecordSize = 16 * 1024;
// DW_CFA_remember_state nests as deep as a function's shrink-wrapped exits; GCC emits one level.
constexpr size_t kMaxRememberedRows = 16;

// DW_CFA_* opcodes (DWARF 4 §7.23, "Call Frame Information"). The first three carry their
// operand in the low six bits of the opcode byte.
enum : uint8_t {
  kCfaAdvanceLoc = 0x40,
  kCfaOffset = 0x80,
  kCfaRestore = 0xc0,
  kCfaNop = 0x00,
  kCfaAdvanceLoc1 = 0x02,
  kCfaAdvanceLoc2 = 0x03,
  kCfaAdvanceLoc4 = 0x04,
  kCfaOffsetExtended = 0x05,
  kCfaRestoreExtended = 0x06,
  kCfaUndefined = 0x07,
  kCfaSameValue = 0x08,
  kCfaRememberState = 0x0a,
  kCfaRestoreState = 0x0b,
  kCfaDefCfa = 0x0c,
  kCfaDefCfaRegister = 0x0d,
  kCfaDefCfaOffset = 0x0e,
  kCfaOffsetExtendedSf = 0x11,
  kCfaDefCfaSf = 0x12,
  kCfaDefCfaOffsetSf = 0x13,
  kCfaGnuArgsSize = 0x2e,
};

// A record's bytes (after its length field) copied out of the tracee, read front to back. Any read
// past the end clears ok() and returns 0; callers check ok() before trusting what they read.
class RecordReader {
 public:
  RecordReader(std::span<const uint8_t> bytes, uint64_t address)
      : bytes_(bytes), address_(address) {}

  bool ok() const { return ok_; }
  bool at_end() const { return position_ >= bytes_.size(); }
  size_t position() const { return position_; }
  // The tracee address of the next byte: what DW_EH_PE_pcrel values are relative to.
  uint64_t address() const { return address_ + position_; }

  uint64_t Fixed(size_t size) {
    if (!Fits(size)) return 0;
    uint64_t value = 0;  // little-endian: the low bytes of a uint64_t hold any narrower value
    std::memcpy(&value, bytes_.data() + position_, size);
    position_ += size;
    return value;
  }
  uint8_t U8() { return static_cast<uint8_t>(Fixed(1)); }
  uint64_t Uleb128() {
    uint64_t value = 0;
    for (unsigned shift = 0; Fits(1); shift += 7) {
      uint8_t byte = bytes_[position_++];
      if (shift < 64) value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    return 0;
  }
  int64_t Sleb128() {
    uint64_t value = 0;
    unsigned shift = 0;
    while (Fits(1)) {
      uint8_t byte = bytes_[position_++];
      if (shift < 64) value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      shift += 7;
      if ((byte & 0x80) == 0) {
        if (shift < 64 && (byte & 0x40) != 0) value |= ~uint64_t{0} << shift;  // sign-extend
        return static_cast<int64_t>(value);
      }
    }
    return 0;
  }
  // A NUL-terminated string (a CIE's augmentation).
  std::string_view String() {
    const auto* start = reinterpret_cast<const char*>(bytes_.data() + position_);
    size_t length = 0;
    while (Fits(length + 1) && bytes_[position_ + length] != 0) ++length;
    if (!Fits(length + 1)) return {};
    position_ += length + 1;
    return {start, length};
  }
  // A value in DW_EH_PE `encoding`; only absolute and pcrel applications, never indirect.
  std::optional<uint64_t> Pointer(uint8_t encoding) {
    if (encoding & kDwEhPeIndirect) return std::nullopt;
    uint64_t field_address = address();
    uint64_t value;
    switch (encoding & 0x0f) {
      case kDwEhPeUleb128:
        value = Uleb128();
        break;
      case kDwEhPeSleb128:
        value = static_cast<uint64_t>(Sleb128());
        break;
      case kDwEhPeSdata2:
        value = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int16_t>(Fixed(2))));
        break;
      case kDwEhPeSdata4:
        value = static_cast<uint64_t>(static_cast<int64_t>(static_cast<int32_t>(Fixed(4))));
        break;
      default:
        if (EncodedSize(encoding) == 0) return std::nullopt;
        value = Fixed(EncodedSize(encoding));
    }
    if (!ok_) return std::nullopt;
    switch (encoding & 0x70) {
      case kDwEhPeAbsptr:
        return value;
      case kDwEhPePcrel:
        return field_address + value;
    }
    return std::nullopt;
  }
  void Skip(uint64_t size) {
    if (Fits(size)) position_ += size;
  }

 private:
  bool Fits(uint64_t size) {
    if (size <= bytes_.size() - position_) return true;
    ok_ = false;
    return false;
  }

  std::span<const uint8_t> bytes_;
  uint64_t address_;
  size_t position_ = 0;
  bool ok_ = true;
};

// One CIE or FDE: the bytes after its 32-bit length field, and where they are in the tracee.
struct Record {
  uint64_t address = 0;
  std::vector<uint8_t> bytes;
};

std::optional<Record> ReadRecord(StopMemoryCache& memory, uint64_t address) {
  uint32_t length = 0;
  if (!memory.TryReadBytes(RemotePtr(address), &length, sizeof length)) return std::nullopt;
  // 0 ends .eh_frame; 0xffffffff announces 64-bit DWARF, which no x86-64 toolchain writes here.
  if (length == 0 || length == 0xffffffff || length > kMaxRecordSize) return std::nullopt;
  Record record;
  record.address = address + sizeof length;
  record.bytes.resize(length);
  if (!memory.TryReadBytes(RemotePtr(record.address), record.bytes.data(), length))
    return std::nullopt;
  return record;
}

// What a CIE says about every FDE that points to it.
struct CommonInformation {
  uint64_t code_alignment = 0;
  int64_t data_alignment = 0;
  uint8_t fde_pointer_encoding = kDwEhPeAbsptr;  // the "R" augmentation
  bool has_augmentation_data = false;            // the "z" augmentation
  std::span<const uint8_t> initial_instructions;
};

std::optional<CommonInformation> ParseCie(const Record& cie) {
  RecordReader reader(cie.bytes, cie.address);
  CommonInformation info;
  if (reader.Fixed(4) != 0) return std::nullopt;  // CIE id: 0 in .eh_frame
  uint8_t version = reader.U8();
  if (version != 1 && version != 3) return std::nullopt;  // 4 has address/segment sizes
  std::string_view augmentation = reader.String();
  info.code_alignment = reader.Uleb128();
  info.data_alignment = reader.Sleb128();
  uint64_t return_address_register = version == 1 ? reader.U8() : reader.Uleb128();
  if (!reader.ok() || return_address_register != kDwarfReturnAddress) return std::nullopt;
  if (!augmentation.empty()) {
    if (augmentation[0] != 'z') return std::nullopt;  // e.g. GCC 2's "eh"
    info.has_augmentation_data = true;
    uint64_t data_size = reader.Uleb128();
    size_t data_end = reader.position() + data_size;
    for (char letter : augmentation.substr(1)) {
      switch (letter) {
        case 'L':  // LSDA pointer encoding
          reader.U8();
          break;
        case 'P': {  // personality routine: its encoding, then the pointer, skipped by its format
          uint8_t encoding = reader.U8();
          if (!reader.Pointer(encoding & 0x0f)) return std::nullopt;
          break;
        }
        case 'R':
          info.fde_pointer_encoding = reader.U8();
          break;
        default:
          // 'S' marks a signal trampoline (the sigreturn frame libunwind knows how to read);
          // anything else is an augmentation we do not know the meaning of.
          return std::nullopt;
      }
    }
    if (!reader.ok() || reader.position() > data_end) return std::nullopt;
    reader.Skip(data_end - reader.position());
  }
  if (!reader.ok() || info.code_alignment == 0) return std::nullopt;
  info.initial_instructions = std::span(cie.bytes).subspan(reader.position());
  return info;
}

struct RegisterState {
  CfaRow row;
  // DW_CFA_restore needs the CIE's initial rules; remember/restore_state a stack of whole rows
  // (the CFA included, as GCC's and libunwind's unwinders keep it).
  std::vector<CfaRow> remembered;
};

bool ValidRegister(uint64_t number) {
  return number < kDwarfRegisterCount;
}

// An offset operand times the CIE's alignment factor (DWARF's "factored" offsets); nullopt when
// the product does not fit, which only a crafted record asks for.
std::optional<int64_t> Factored(int64_t operand, int64_t factor) {
  int64_t product;
  if (__builtin_mul_overflow(operand, factor, &product)) return std::nullopt;
  return product;
}

// An unsigned offset operand (DW_CFA_def_cfa, DW_CFA_def_cfa_offset, DW_CFA_offset before
// factoring), nullopt when it is beyond any signed offset.
std::optional<int64_t> UnsignedOffset(uint64_t operand) {
  if (operand > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
  return static_cast<int64_t>(operand);
}

// Runs `instructions` from location `location` until the first advance past `pc` (an FDE), or to
// their end (a CIE's initial instructions, `pc` = nullopt: an advance there makes us decline).
// `initial` is the row after the CIE's instructions, for DW_CFA_restore. False when an instruction
// is outside the subset.
bool Execute(std::span<const uint8_t> instructions, const CommonInformation& cie, uint64_t location,
             std::optional<uint64_t> pc, const CfaRow& initial, RegisterState& state) {
  RecordReader reader(instructions, 0);
  CfaRow& row = state.row;
  auto advance = [&](uint64_t delta) {
    if (!pc) return false;
    location += delta * cie.code_alignment;
    return location <= *pc;
  };
  auto save_at = [&](uint64_t reg, std::optional<int64_t> factored_offset) {
    std::optional<int64_t> offset =
        factored_offset ? Factored(*factored_offset, cie.data_alignment) : std::nullopt;
    if (!ValidRegister(reg) || !offset) return false;
    row.registers[reg] = {RegisterRule::Kind::kSavedAtCfa, *offset};
    return true;
  };
  auto set_cfa_offset = [&](std::optional<int64_t> offset) {
    if (!offset) return false;
    row.cfa_offset = *offset;
    return true;
  };
  auto set_cfa_register = [&](uint64_t reg) {
    // The CFA is never computed from the return address column.
    if (!ValidRegister(reg) || reg == kDwarfReturnAddress) return false;
    row.cfa_register = static_cast<uint8_t>(reg);
    return true;
  };
  while (!reader.at_end()) {
    uint8_t opcode = reader.U8();
    uint8_t operand = opcode & 0x3f;
    bool known = true;
    switch (opcode & 0xc0) {
      case kCfaAdvanceLoc:
        if (!advance(operand)) return pc.has_value();  // the row for pc is complete
        continue;
      case kCfaOffset:
        known = save_at(operand, UnsignedOffset(reader.Uleb128()));
        break;
      case kCfaRestore:
        known = ValidRegister(operand);
        if (known) row.registers[operand] = initial.registers[operand];
        break;
      default:
        switch (opcode) {
          case kCfaNop:
            break;
          case kCfaAdvanceLoc1:
          case kCfaAdvanceLoc2:
          case kCfaAdvanceLoc4: {
            uint64_t delta = reader.Fixed(opcode == kCfaAdvanceLoc1   ? 1
                                          : opcode == kCfaAdvanceLoc2 ? 2
                                                                      : 4);
            if (!reader.ok()) return false;
            if (!advance(delta)) return pc.has_value();
            continue;
          }
          case kCfaOffsetExtended: {
            uint64_t reg = reader.Uleb128();
            known = save_at(reg, UnsignedOffset(reader.Uleb128()));
            break;
          }
          case kCfaOffsetExtendedSf: {
            uint64_t reg = reader.Uleb128();
            known = save_at(reg, reader.Sleb128());
            break;
          }
          case kCfaRestoreExtended: {
            uint64_t reg = reader.Uleb128();
            known = ValidRegister(reg);
            if (known) row.registers[reg] = initial.registers[reg];
            break;
          }
          case kCfaUndefined:
          case kCfaSameValue: {
            uint64_t reg = reader.Uleb128();
            known = ValidRegister(reg);
            if (known)
              row.registers[reg] = {opcode == kCfaUndefined ? RegisterRule::Kind::kUndefined
                                                            : RegisterRule::Kind::kSameValue,
                                    0};
            break;
          }
          case kCfaRememberState:
            known = state.remembered.size() < kMaxRememberedRows;
            if (known) state.remembered.push_back(row);
            break;
          case kCfaRestoreState:
            known = !state.remembered.empty();
            if (known) {
              row = state.remembered.back();
              state.remembered.pop_back();
            }
            break;
          case kCfaDefCfa: {
            uint64_t reg = reader.Uleb128();
            known = set_cfa_register(reg) && set_cfa_offset(UnsignedOffset(reader.Uleb128()));
            break;
          }
          case kCfaDefCfaSf: {
            uint64_t reg = reader.Uleb128();
            known = set_cfa_register(reg) &&
                    set_cfa_offset(Factored(reader.Sleb128(), cie.data_alignment));
            break;
          }
          case kCfaDefCfaRegister:
            known = set_cfa_register(reader.Uleb128());
            break;
          case kCfaDefCfaOffset:
            known = set_cfa_offset(UnsignedOffset(reader.Uleb128()));
            break;
          case kCfaDefCfaOffsetSf:
            known = set_cfa_offset(Factored(reader.Sleb128(), cie.data_alignment));
            break;
          case kCfaGnuArgsSize:  // bytes of outgoing arguments; no effect on the CFA
            reader.Uleb128();
            break;
          default:
            // DW_CFA_set_loc, register, the expressions, val_offset, GNU_negative_offset_extended
            // and vendor opcodes: libunwind's business.
            return false;
        }
    }
    if (!known || !reader.ok()) return false;
  }
  return true;
}

// The FDE whose initial location is the greatest not above pc, from the .eh_frame_hdr table
// (sorted by initial location; entries are two sdata4 offsets from the section, checked by
// ReadEhFrameSearchTable).
std::optional<uint64_t> SearchFde(StopMemoryCache& memory, const EhFrameSearchTable& table,
                                  uint64_t pc) {
  struct Entry {
    int32_t initial_location;
    int32_t fde;
  };
  uint64_t section = table.section.value();
  uint64_t low = 0, high = table.fde_count;  // the answer is in [low - 1, high)
  while (low < high) {
    uint64_t middle = low + (high - low) / 2;
    Entry entry;
    if (!memory.TryReadBytes(table.entries + static_cast<int64_t>(middle * sizeof entry), &entry,
                             sizeof entry))
      return std::nullopt;
    if (section + static_cast<int64_t>(entry.initial_location) <= pc)
      low = middle + 1;
    else
      high = middle;
  }
  if (low == 0) return std::nullopt;
  Entry entry;
  if (!memory.TryReadBytes(table.entries + static_cast<int64_t>((low - 1) * sizeof entry), &entry,
                           sizeof entry))
    return std::nullopt;
  return section + static_cast<int64_t>(entry.fde);
}

}  // namespace

std::optional<CfaRow> FindCfaRow(StopMemoryCache& memory, const EhFrameSearchTable& table,
                                 uint64_t pc) {
  std::optional<uint64_t> fde_address = SearchFde(memory, table, pc);
  if (!fde_address) return std::nullopt;
  std::optional<Record> fde = ReadRecord(memory, *fde_address);
  if (!fde) return std::nullopt;
  RecordReader reader(fde->bytes, fde->address);
  // The CIE pointer: this field's address minus the CIE's (its length field); 0 would be a CIE.
  uint64_t cie_pointer = reader.Fixed(4);
  if (!reader.ok() || cie_pointer == 0 || cie_pointer > fde->address) return std::nullopt;
  std::optional<Record> cie_record = ReadRecord(memory, fde->address - cie_pointer);
  if (!cie_record) return std::nullopt;
  std::optional<CommonInformation> cie = ParseCie(*cie_record);
  if (!cie) return std::nullopt;

  std::optional<uint64_t> pc_begin = reader.Pointer(cie->fde_pointer_encoding);
  // The range is a plain value in the same format (no pcrel).
  std::optional<uint64_t> pc_range = reader.Pointer(cie->fde_pointer_encoding & 0x0f);
  if (!pc_begin || !pc_range || pc < *pc_begin || pc - *pc_begin >= *pc_range) return std::nullopt;
  if (cie->has_augmentation_data) reader.Skip(reader.Uleb128());  // the LSDA pointer, if any
  if (!reader.ok()) return std::nullopt;

  RegisterState state;
  if (!Execute(cie->initial_instructions, *cie, *pc_begin, std::nullopt, state.row, state))
    return std::nullopt;
  CfaRow initial = state.row;
  state.remembered.clear();
  if (!Execute(std::span(fde->bytes).subspan(reader.position()), *cie, *pc_begin, pc, initial,
               state))
    return std::nullopt;
  return state.row;
}

}  // namespace hotpatch::unwind
