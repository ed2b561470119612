// Carried call frame information (carried_eh_frame.h): the strict reader of a bundle's .eh_frame
// and the producers' copy of an object's records, rewritten into the subset the reader accepts.
//
// Record layout (LSB Core, "The .eh_frame section"; DWARF 4 §6.4.1 with .eh_frame's changes):
//   CIE: length u32, CIE id u32 = 0, version u8, augmentation string, code alignment ULEB128,
//        data alignment SLEB128, return address register (one byte in version 1), then for "z"
//        the augmentation data length ULEB128 and data ("R": the FDE pointer encoding byte),
//        then the initial instructions.
//   FDE: length u32, CIE pointer u32 (distance from this field back to the CIE's length word),
//        pc_begin and pc_range in the CIE's pointer encoding, for "z" an augmentation data
//        length ULEB128 and data, then the instructions.
#include "bundle/carried_eh_frame.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <tuple>

#include "base/error.h"
#include "base/hex.h"
#include "bundle/bounded_bytes.h"

namespace hotpatch::bundle {
namespace {

constexpr uint32_t kExtendedLength = 0xffffffff;  // DWARF: the 64-bit form, a u64 length follows
constexpr uint32_t kCieId = 0;                    // .eh_frame's CIE id (.debug_frame's is ~0)
constexpr uint8_t kCieVersion = 1;
constexpr std::string_view kCarriedAugmentation = "zR";
// DW_EH_PE_pcrel (0x10) | DW_EH_PE_sdata4 (0x0b): what GCC emits for x86-64 code models that fit
// in ±2 GiB, and what R_X86_64_PC32 fills in.
constexpr uint8_t kPcrelSdata4 = 0x1b;
// psABI, "DWARF Register Number Mapping": 16 is the return address RA. The engine's row walker
// (unwind/cfa_rows.cc) reads no other return address column.
constexpr uint8_t kDwarfReturnAddress = 16;
// Records keep their length word and pc_begin field 4-aligned (GCC and GAS pad each record with
// DW_CFA_nop to a multiple of 4, and the section to 8).
constexpr uint64_t kRecordAlignment = 4;
constexpr uint64_t kSectionAlignment = 8;

// Offsets from a record's length word.
constexpr uint64_t kIdField = 4;                // CIE id, or an FDE's CIE pointer
constexpr uint64_t kCieVersionField = 8;        // CIE
constexpr uint64_t kPcBeginField = 8;           // FDE: sdata4
constexpr uint64_t kPcRangeField = 12;          // FDE: udata4 (sdata4's size, no pcrel)
constexpr uint64_t kFdeAugmentationField = 16;  // FDE: augmentation data length ULEB128

uint32_t LoadU32(std::span<const uint8_t> bytes, uint64_t offset) {
  uint32_t value;  // the caller checked offset + 4 <= size; x86-64 and the format are little-endian
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

void StoreU32(std::vector<uint8_t>& bytes, uint64_t offset, uint32_t value) {
  std::memcpy(bytes.data() + offset, &value, sizeof value);
}

// Reads the fields of one record in order. A read past the record's end (or an LEB128 longer
// than 64 bits) sets failed() and returns 0, so that a caller checks once after a group of reads.
class FieldReader {
 public:
  FieldReader(std::span<const uint8_t> record, uint64_t position)
      : record_(record), position_(position) {}

  bool failed() const { return failed_; }
  uint64_t position() const { return position_; }

  uint8_t U8() { return Take(1) ? record_[position_++] : 0; }
  uint64_t Uleb128() {
    uint64_t value = 0;
    for (unsigned shift = 0; Take(1); shift += 7) {
      const uint8_t byte = record_[position_++];
      if (shift >= 64) break;
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) return value;
    }
    failed_ = true;
    return 0;
  }
  int64_t Sleb128() {
    uint64_t value = 0;
    for (unsigned shift = 0; Take(1);) {
      const uint8_t byte = record_[position_++];
      if (shift >= 64) break;
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      shift += 7;
      if ((byte & 0x80) == 0) {
        if (shift < 64 && (byte & 0x40) != 0) value |= ~uint64_t{0} << shift;  // sign-extend
        return static_cast<int64_t>(value);
      }
    }
    failed_ = true;
    return 0;
  }
  // A NUL-terminated string; the NUL must be inside the record.
  std::string_view String() {
    if (failed_) return {};
    const uint64_t start = position_;
    while (Take(1) && record_[position_] != 0) ++position_;
    if (failed_) return {};
    ++position_;  // the NUL
    return {reinterpret_cast<const char*>(record_.data() + start), position_ - start - 1};
  }
  void Skip(uint64_t size) {
    if (Take(size)) position_ += size;
  }

 private:
  bool Take(uint64_t size) {
    if (!failed_ && !RangeFits(position_, size, record_.size())) failed_ = true;
    return !failed_;
  }

  std::span<const uint8_t> record_;
  uint64_t position_;
  bool failed_ = false;
};

// The framing of the record whose length word is at `offset`, or the rule it breaks.
struct Frame {
  std::string problem;  // empty when the framing is sound
  bool terminator = false;
  uint64_t size = 0;  // length word included
  uint32_t id = 0;    // the CIE id (0) or an FDE's CIE pointer
};

Frame ReadFrame(std::span<const uint8_t> bytes, uint64_t offset) {
  Frame frame;
  if (!RangeFits(offset, 4, bytes.size())) {
    frame.problem = "the section ends inside the record's length word";
    return frame;
  }
  const uint32_t length = LoadU32(bytes, offset);
  if (length == 0) {  // LSB: a zero length word is the terminator
    frame.terminator = true;
    frame.size = 4;
    return frame;
  }
  if (length == kExtendedLength) {
    frame.problem = "64-bit length (0xffffffff): only the 32-bit DWARF format is carried";
    return frame;
  }
  if (length < 4 || !RangeFits(offset + 4, length, bytes.size())) {
    frame.problem = "length " + std::to_string(length) + " does not fit a CIE id or pointer " +
                    "inside the section (" + std::to_string(bytes.size()) + " bytes)";
    return frame;
  }
  frame.size = uint64_t{length} + 4;
  frame.id = LoadU32(bytes, offset + kIdField);
  return frame;
}

// The rule a CIE (`record`: length word included) breaks against the carried subset, or "".
std::string CieProblem(std::span<const uint8_t> record) {
  if (record.size() % kRecordAlignment != 0) {
    return "CIE size " + std::to_string(record.size()) + " is not a multiple of 4";
  }
  FieldReader reader(record, kCieVersionField);
  const uint8_t version = reader.U8();
  const std::string_view augmentation = reader.String();
  if (reader.failed()) return "CIE version and augmentation run past the record";
  if (version != kCieVersion) return "CIE version " + std::to_string(version) + " is not 1";
  if (augmentation != kCarriedAugmentation) {
    return "CIE augmentation \"" + std::string(augmentation) +
           "\" is not \"zR\" (no personality, LSDA or signal frame is carried)";
  }
  const uint64_t code_alignment = reader.Uleb128();
  reader.Sleb128();  // data alignment: any factor is fine
  // Version 1 stores the return address register in one byte (version 3 in ULEB128).
  const uint8_t return_address = reader.U8();
  const uint64_t augmentation_size = reader.Uleb128();
  const uint8_t encoding = reader.U8();
  if (reader.failed()) return "CIE fields run past the record";
  if (code_alignment == 0) return "CIE code alignment factor 0";
  if (return_address != kDwarfReturnAddress) {
    return "CIE return address register " + std::to_string(return_address) +
           " is not 16 (the psABI's DWARF number for the return address)";
  }
  if (augmentation_size != 1) {
    return "CIE augmentation data length " + std::to_string(augmentation_size) +
           " is not 1 (\"zR\" has one byte: the FDE pointer encoding)";
  }
  if (encoding != kPcrelSdata4) {
    return "CIE FDE pointer encoding " + Hex(encoding) +
           " is not 0x1b (DW_EH_PE_pcrel | DW_EH_PE_sdata4)";
  }
  return "";
}

// The parts of an FDE (`record`: length word included) after its CIE pointer, for a carried CIE.
struct FdeBody {
  std::string problem;  // empty when sound
  uint32_t pc_range = 0;
};

FdeBody ReadFdeBody(std::span<const uint8_t> record) {
  FdeBody body;
  if (record.size() % kRecordAlignment != 0) {
    body.problem = "FDE size " + std::to_string(record.size()) + " is not a multiple of 4";
    return body;
  }
  if (record.size() < kFdeAugmentationField) {
    body.problem = "FDE of " + std::to_string(record.size()) +
                   " bytes has no room for pc_begin and pc_range (4 bytes each)";
    return body;
  }
  body.pc_range = LoadU32(record, kPcRangeField);
  // "z": the augmentation data's length comes first, so that a reader can skip what it does not
  // know; for "zR" it is 0 in practice, but it must stay inside the record.
  FieldReader reader(record, kFdeAugmentationField);
  reader.Skip(reader.Uleb128());
  if (reader.failed()) body.problem = "FDE augmentation data runs past the record";
  return body;
}

Error Refused(uint64_t offset, const std::string& rule) {
  return BadBundle(std::string(kEhFrameSectionName) + " record at offset " + Hex(offset) + ": " +
                   rule);
}

std::string SectionLabel(const Bundle& bundle, size_t index) {
  return "section " + std::to_string(index + 1) + " '" + bundle.sections[index].name + "'";
}

// S + A as an offset in S's section (for a PC32 pc_begin, P + field = S + A: the code's address),
// or nullopt when it is negative or overflows.
std::optional<uint64_t> OffsetInSection(uint64_t value, int64_t addend) {
  if (addend < 0) {
    const uint64_t minus = uint64_t{0} - static_cast<uint64_t>(addend);
    if (minus > value) return std::nullopt;
    return value - minus;
  }
  const uint64_t plus = static_cast<uint64_t>(addend);
  if (plus > UINT64_MAX - value) return std::nullopt;
  return value + plus;
}

// The relocation rule: each FDE's pc_begin has exactly one R_X86_64_PC32 naming a symbol defined
// in an executable section of the bundle, the code it covers lies in that section and overlaps
// no other FDE's; nothing else in the section is relocated. The engine builds the .eh_frame_hdr
// search table from these: an FDE over bytes outside its patch section would give CFI to code
// that is not the patch's (e.g. the target's own code next to a dead-code placement).
void CheckRelocations(const Bundle& bundle, size_t section_index,
                      const std::vector<EhFrameRecord>& records) {
  const BundleSection& section = bundle.sections[section_index];
  const std::string label = SectionLabel(bundle, section_index);
  std::map<uint64_t, const EhFrameRecord*> fde_at_field;
  for (const EhFrameRecord& record : records) {
    if (!record.is_cie) fde_at_field[record.pc_begin_field] = &record;
  }
  std::set<uint64_t> relocated;
  // Covered code per bundle section: (begin, end, FDE offset).
  std::map<uint32_t, std::vector<std::tuple<uint64_t, uint64_t, uint64_t>>> covered;
  for (size_t r = 0; r < section.relocations.size(); ++r) {
    const BundleRelocation& rela = section.relocations[r];
    const std::string where =
        label + " relocation " + std::to_string(r) + " at " + Hex(rela.offset) + ": ";
    const auto fde = fde_at_field.find(rela.offset);
    if (fde == fde_at_field.end()) {
      throw BadBundle(where + "not at an FDE's pc_begin field (nothing else is relocated)");
    }
    if (!relocated.insert(rela.offset).second) {
      throw BadBundle(where + "a second relocation of one FDE's pc_begin field");
    }
    if (rela.type != R_X86_64_PC32) {
      throw BadBundle(where + "type " + std::to_string(rela.type) +
                      " is not R_X86_64_PC32 (pc_begin is DW_EH_PE_pcrel | DW_EH_PE_sdata4)");
    }
    if (rela.symbol >= bundle.symbols.size()) {
      throw BadBundle(where + "symbol " + std::to_string(rela.symbol) + " beyond " +
                      std::to_string(bundle.symbols.size()) + " symbols");
    }
    const BundleSymbol& symbol = bundle.symbols[rela.symbol];
    if (symbol.kind != SymbolKind::kDefined || symbol.section >= bundle.sections.size() ||
        (bundle.sections[symbol.section].flags & SHF_EXECINSTR) == 0) {
      throw BadBundle(where + ".symtab entry " + std::to_string(rela.symbol + 1) + " '" +
                      symbol.name +
                      "' is not defined in an executable section of the bundle: an FDE "
                      "describes only the bundle's own code");
    }
    const uint64_t code_size = bundle.sections[symbol.section].size();
    const auto begin = OffsetInSection(symbol.value, rela.addend);
    const uint32_t range = fde->second->pc_range;
    if (!begin || !RangeFits(*begin, range, code_size)) {
      throw BadBundle(where + "the FDE covers " + std::to_string(range) + " bytes at symbol " +
                      "value + addend " + Hex(symbol.value) + " + " + std::to_string(rela.addend) +
                      ", not inside " + SectionLabel(bundle, symbol.section) + " (" +
                      std::to_string(code_size) + " bytes)");
    }
    if (range != 0) {
      covered[symbol.section].emplace_back(*begin, *begin + range, fde->second->offset);
    }
  }
  for (const auto& [field, fde] : fde_at_field) {
    if (relocated.count(field) == 0) {
      throw Refused(fde->offset,
                    "FDE's pc_begin field at " + Hex(field) + " has no R_X86_64_PC32 relocation");
    }
  }
  for (auto& [code_section, ranges] : covered) {
    std::sort(ranges.begin(), ranges.end());
    for (size_t k = 1; k < ranges.size(); ++k) {
      if (std::get<0>(ranges[k]) < std::get<1>(ranges[k - 1])) {
        throw Refused(std::get<2>(ranges[k]), "FDE overlaps the FDE at " +
                                                  Hex(std::get<2>(ranges[k - 1])) + " in " +
                                                  SectionLabel(bundle, code_section));
      }
    }
  }
}

// DW_EH_PE_* (LSB Core, "DWARF Exception Header Encoding"): the low nibble is the value's format,
// bits 4..6 what it is relative to, bit 7 an indirection through the pointer.
constexpr uint8_t kEncodingFormatMask = 0x0f;
constexpr uint8_t kEncodingApplicationMask = 0x70;
constexpr uint8_t kApplicationAbsolute = 0x00;  // DW_EH_PE_absptr
constexpr uint8_t kApplicationPcrel = 0x10;     // DW_EH_PE_pcrel
constexpr uint8_t kApplicationDatarel = 0x30;   // DW_EH_PE_datarel
constexpr uint8_t kDwCfaNop = 0x00;             // DW_CFA_nop, GCC's padding

// Skips the pointer of a CIE's "P" augmentation (the personality routine) in `encoding`. False
// for an encoding whose size is not known here: a format outside the LSB table, or an
// application other than absolute, pcrel and datarel (DW_EH_PE_aligned's size depends on where
// the field lies). DW_EH_PE_indirect (0x80) changes what the value means, not its size.
bool SkipEncodedPointer(FieldReader& reader, uint8_t encoding) {
  const uint8_t application = encoding & kEncodingApplicationMask;
  if (application != kApplicationAbsolute && application != kApplicationPcrel &&
      application != kApplicationDatarel) {
    return false;
  }
  switch (encoding & kEncodingFormatMask) {
    case 0x00:  // DW_EH_PE_absptr: a pointer, 8 bytes on x86-64
    case 0x04:  // DW_EH_PE_udata8
    case 0x0c:  // DW_EH_PE_sdata8
      reader.Skip(8);
      return true;
    case 0x02:  // DW_EH_PE_udata2
    case 0x0a:  // DW_EH_PE_sdata2
      reader.Skip(2);
      return true;
    case 0x03:  // DW_EH_PE_udata4
    case 0x0b:  // DW_EH_PE_sdata4 (GCC's 0x9b: indirect | pcrel | sdata4, via DW.ref.<personality>)
      reader.Skip(4);
      return true;
    case 0x01:  // DW_EH_PE_uleb128
      reader.Uleb128();
      return true;
    case 0x09:  // DW_EH_PE_sleb128
      reader.Sleb128();
      return true;
    default:
      return false;
  }
}

// Pads a record (length word first) with DW_CFA_nop to a multiple of 4 bytes, as GCC does, so
// that the next record's length word and pc_begin stay 4-aligned, and sets its length word.
// False when the length does not fit the 32-bit form.
bool FinishRecord(std::vector<uint8_t>& record) {
  while (record.size() % kRecordAlignment != 0) record.push_back(kDwCfaNop);
  if (record.size() - 4 >= kExtendedLength) return false;
  StoreU32(record, 0, static_cast<uint32_t>(record.size() - 4));
  return true;
}

// One CIE of an object as the carried subset has it, or the reason it cannot be.
struct CarriedCie {
  std::string problem;         // empty when its FDEs are carried
  std::vector<uint8_t> bytes;  // the carried record, length word included
  // Record offsets of the "P" augmentation's pointer: the only bytes of the CIE that may be
  // relocated (against DW.ref.__gxx_personality_v0 for C++); the relocation is dropped with them.
  uint64_t personality_begin = 0;
  uint64_t personality_end = 0;
};

// The object's CIE `record` (length word included) rewritten into the carried subset: augmentation
// "zR" with FDE pointer encoding 0x1b, the same code and data alignment factors, return address
// register and initial instructions. An object CIE "z" + any of 'P', 'L', 'R' (in its own order)
// qualifies when its 'R' is 0x1b: the personality routine ('P') and the LSDA encoding ('L') are
// dropped. They serve only a C++ exception's unwinder, which decides through them where to
// land; the engine only walks stacks and reads nothing but the CFA rules. 'S' (a signal frame:
// the engine's walker would have to treat the return address differently) and any other
// augmentation are not carried.
CarriedCie RewriteCie(std::span<const uint8_t> record) {
  CarriedCie cie;
  FieldReader reader(record, kCieVersionField);
  const uint8_t version = reader.U8();
  const std::string_view augmentation = reader.String();
  // Copied as they are: the two factors and, in version 1, the one-byte return address register.
  const uint64_t fields_begin = reader.position();
  reader.Uleb128();
  reader.Sleb128();
  reader.U8();
  const uint64_t fields_end = reader.position();
  const uint64_t data_size = reader.Uleb128();
  const uint64_t data_begin = reader.position();
  if (reader.failed()) {
    cie.problem = "CIE fields run past the record";
    return cie;
  }
  const std::string quoted = "CIE augmentation \"" + std::string(augmentation) + "\"";
  if (version != kCieVersion) {
    cie.problem = "CIE version " + std::to_string(version) + " is not 1";
    return cie;
  }
  if (!augmentation.starts_with('z')) {
    cie.problem = quoted + " does not start with 'z'";
    return cie;
  }
  std::optional<uint8_t> fde_encoding;
  std::set<char> seen;
  for (const char letter : augmentation.substr(1)) {
    if (!seen.insert(letter).second) {
      cie.problem = quoted + " has '" + std::string(1, letter) + "' twice";
      return cie;
    }
    switch (letter) {
      case 'P': {
        const uint8_t encoding = reader.U8();
        cie.personality_begin = reader.position();
        if (!SkipEncodedPointer(reader, encoding)) {
          cie.problem = "CIE personality pointer encoding " + Hex(encoding) + " has no known size";
          return cie;
        }
        cie.personality_end = reader.position();
        break;
      }
      case 'L':
        // The LSDA pointer encoding: each FDE's augmentation data length says how long its
        // pointer is, which is all the rewrite needs to drop it.
        reader.U8();
        break;
      case 'R':
        fde_encoding = reader.U8();
        break;
      default:
        cie.problem = quoted + " has '" + std::string(1, letter) +
                      "' (only 'P', 'L' and 'R' are rewritten; 'S' is a signal frame)";
        return cie;
    }
  }
  if (reader.failed() || reader.position() - data_begin != data_size) {
    cie.problem = quoted + ": augmentation data length " + std::to_string(data_size) +
                  " does not match its fields";
    return cie;
  }
  if (fde_encoding != kPcrelSdata4) {
    cie.problem = quoted + ": FDE pointer encoding " +
                  (fde_encoding ? Hex(*fde_encoding) : std::string("absent (DW_EH_PE_absptr)")) +
                  " is not 0x1b (DW_EH_PE_pcrel | DW_EH_PE_sdata4)";
    return cie;
  }
  // length (set by FinishRecord), CIE id 0, version 1, "zR"
  cie.bytes = {0, 0, 0, 0, 0, 0, 0, 0, kCieVersion, 'z', 'R', 0};
  cie.bytes.insert(cie.bytes.end(), record.begin() + static_cast<ptrdiff_t>(fields_begin),
                   record.begin() + static_cast<ptrdiff_t>(fields_end));
  cie.bytes.insert(cie.bytes.end(), {1, kPcrelSdata4});  // augmentation data: the FDE encoding
  cie.bytes.insert(cie.bytes.end(), record.begin() + static_cast<ptrdiff_t>(reader.position()),
                   record.end());  // the initial instructions (and the object's padding)
  if (!FinishRecord(cie.bytes)) {
    cie.problem = "CIE too long for a 32-bit length";
    return cie;
  }
  // The rules the strict reader checks and the rewrite does not change (code alignment factor
  // not 0, return address register 16).
  cie.problem = CieProblem(cie.bytes);
  return cie;
}

// Copies the carried records of one object's .eh_frame into a bundle section, rewritten into the
// carried subset.
class ObjectEhFrameCopier {
 public:
  ObjectEhFrameCopier(const elf::ElfFile& object, const elf::Section& eh_frame,
                      const std::function<std::optional<uint32_t>(uint32_t)>& carried,
                      BundleSection& out)
      : object_(object), bytes_(object.SectionData(eh_frame)), carried_(carried), out_(out) {
    for (const elf::Section& section : object.sections()) {
      if (section.type != SHT_RELA || section.info != eh_frame.index) continue;
      for (const elf::Relocation& relocation : object.Relocations(section)) {
        relocations_.emplace(relocation.offset, relocation);
      }
    }
  }

  CarriedEhFrameStats Copy() {
    if (out_.bytes.size() % kRecordAlignment != 0) {
      throw Error(ErrorCode::kInternal, "carried .eh_frame of " + Hex(out_.bytes.size()) +
                                            " bytes is not 4-aligned before " + object_.path());
    }
    for (uint64_t offset = 0; offset < bytes_.size();) {
      const Frame frame = ReadFrame(bytes_, offset);
      if (!frame.problem.empty()) throw ObjectError(offset, frame.problem);
      // Objects have no terminator (the linker adds crtend.o's); one written by hand ends here.
      if (frame.terminator) break;
      const auto record = bytes_.subspan(offset, frame.size);
      if (frame.id == kCieId) {
        ReadCie(offset, record);
      } else {
        CopyFde(offset, frame, record);
      }
      offset += frame.size;
    }
    return stats_;
  }

 private:
  Error ObjectError(uint64_t offset, const std::string& rule) const {
    return Error(ErrorCode::kBadRequest,
                 object_.path() + ": .eh_frame record at offset " + Hex(offset) + ": " + rule);
  }

  void ReadCie(uint64_t offset, std::span<const uint8_t> record) {
    CarriedCie cie = RewriteCie(record);
    // The carried CIE's bytes are the object's, except the dropped augmentation data: a
    // relocation elsewhere (none is expected) would leave a byte the linker was to fill in.
    const uint64_t personality = cie.personality_end - cie.personality_begin;
    if (cie.problem.empty() && RelocationsIn(offset, record.size()) !=
                                   RelocationsIn(offset + cie.personality_begin, personality)) {
      cie.problem = "CIE has a relocation outside its personality pointer";
    }
    cies_[offset] = std::move(cie);
  }

  void CopyFde(uint64_t offset, const Frame& frame, std::span<const uint8_t> record) {
    // psABI/LSB: the CIE pointer is the distance from its own field back to the CIE.
    const uint64_t cie = offset + kIdField - frame.id;
    if (frame.id > offset + kIdField || cies_.count(cie) == 0) {
      throw ObjectError(offset, "CIE pointer " + Hex(frame.id) + " names no earlier CIE");
    }
    const auto pc_begin = relocations_.equal_range(offset + kPcBeginField);
    if (pc_begin.first == pc_begin.second) return;  // names no section: not code we carry
    const elf::Relocation& relocation = pc_begin.first->second;
    if (relocation.symbol_index >= object_.symbols().size()) return;
    const elf::Symbol& symbol = object_.symbols()[relocation.symbol_index];
    if (symbol.section_index == SHN_UNDEF || symbol.section_index >= SHN_LORESERVE) return;
    const std::optional<uint32_t> bundle_symbol = carried_(symbol.section_index);
    if (!bundle_symbol) return;  // the FDE of a function left behind
    std::vector<uint8_t> fde;
    if (!cies_[cie].problem.empty() || relocation.type != R_X86_64_PC32 ||
        !RewriteFde(offset, record, fde)) {
      ++stats_.fdes_skipped;  // e.g. a signal frame's FDE: its CIE is "zRS"
      return;
    }
    const uint64_t cie_out = CopiedCie(cie);
    const uint64_t fde_out = Append(fde);
    // The new CIE pointer, from this FDE's pointer field back to its copied CIE.
    StoreU32(out_.bytes, fde_out + kIdField, Checked32(fde_out + kIdField - cie_out));
    // A section symbol's st_value is 0; a function symbol's is its offset in the section, and
    // `carried` names the section's start.
    const int64_t addend =
        relocation.addend + (symbol.type == STT_SECTION ? 0 : static_cast<int64_t>(symbol.value));
    out_.relocations.push_back({fde_out + kPcBeginField, R_X86_64_PC32, *bundle_symbol, addend});
    ++stats_.fdes_carried;
  }

  // The object's FDE `record` at `offset`, for a carried CIE, as the carried subset has it: the
  // same pc_begin (pcrel sdata4: the CIE's 'R' is 0x1b), pc_range and instructions, and no
  // augmentation data. An FDE of a CIE with 'L' holds its LSDA pointer there; the LSDA serves
  // only a C++ exception's unwinder, which never sees the bundle's .eh_frame, so the pointer and
  // its relocation are dropped. False when the FDE cannot be rewritten.
  bool RewriteFde(uint64_t offset, std::span<const uint8_t> record, std::vector<uint8_t>& fde) {
    if (record.size() < kFdeAugmentationField) return false;  // no room for pc_begin, pc_range
    FieldReader reader(record, kFdeAugmentationField);
    const uint64_t data_size = reader.Uleb128();
    const uint64_t data_begin = reader.position();
    reader.Skip(data_size);
    if (reader.failed()) return false;  // augmentation data past the record
    // pc_begin's relocation stays (rewritten by the caller); the LSDA pointer's goes with it. Any
    // other would leave bytes of the instructions the linker was to fill in.
    if (RelocationsIn(offset, record.size()) != 1 + RelocationsIn(offset + data_begin, data_size)) {
      return false;
    }
    // length word (set by FinishRecord), CIE pointer (set by the caller), pc_begin, pc_range
    fde.assign(record.begin(), record.begin() + kFdeAugmentationField);
    fde.push_back(0);  // augmentation data length 0
    fde.insert(fde.end(), record.begin() + static_cast<ptrdiff_t>(reader.position()),
               record.end());  // the instructions (and the object's padding)
    return FinishRecord(fde);
  }

  size_t RelocationsIn(uint64_t offset, uint64_t size) const {
    return static_cast<size_t>(
        std::distance(relocations_.lower_bound(offset), relocations_.lower_bound(offset + size)));
  }

  // Each CIE of the object once, before the first FDE that uses it; CIEs of different objects
  // stay separate records (each Append call has its own copier).
  uint64_t CopiedCie(uint64_t cie) {
    const auto copied = cie_out_.find(cie);
    if (copied != cie_out_.end()) return copied->second;
    return cie_out_[cie] = Append(cies_[cie].bytes);
  }

  uint64_t Append(std::span<const uint8_t> record) {
    const uint64_t at = out_.bytes.size();
    out_.bytes.insert(out_.bytes.end(), record.begin(), record.end());
    return at;
  }

  uint32_t Checked32(uint64_t value) const {
    if (value > UINT32_MAX) {
      throw Error(ErrorCode::kUnsupported,
                  object_.path() + ": carried .eh_frame grew past 4 GiB (32-bit CIE pointers)");
    }
    return static_cast<uint32_t>(value);
  }

  const elf::ElfFile& object_;
  std::span<const uint8_t> bytes_;
  const std::function<std::optional<uint32_t>(uint32_t)>& carried_;
  BundleSection& out_;
  std::multimap<uint64_t, elf::Relocation> relocations_;  // of .eh_frame, by r_offset
  std::map<uint64_t, CarriedCie> cies_;                   // object CIE offset -> as carried
  std::map<uint64_t, uint64_t> cie_out_;                  // object CIE offset -> offset in out
  CarriedEhFrameStats stats_;
};

void SetEhFrameAttributes(BundleSection& out) {
  out.name = kEhFrameSectionName;
  out.type = SHT_PROGBITS;
  out.flags = SHF_ALLOC;
  out.alignment = kSectionAlignment;
}

}  // namespace

std::vector<EhFrameRecord> ParseCarriedEhFrame(std::span<const uint8_t> bytes) {
  std::vector<EhFrameRecord> records;
  std::set<uint64_t> cies;
  for (uint64_t offset = 0;;) {
    if (offset == bytes.size()) {
      throw Refused(offset, "the section ends without a terminator (a zero length word)");
    }
    const Frame frame = ReadFrame(bytes, offset);
    if (!frame.problem.empty()) throw Refused(offset, frame.problem);
    if (frame.terminator) {
      if (offset + 4 != bytes.size()) {
        throw Refused(offset, "terminator (a zero length word) before the section's last 4 bytes");
      }
      return records;
    }
    const auto record_bytes = bytes.subspan(offset, frame.size);
    EhFrameRecord record;
    record.offset = offset;
    record.size = frame.size;
    if (frame.id == kCieId) {
      const std::string problem = CieProblem(record_bytes);
      if (!problem.empty()) throw Refused(offset, problem);
      record.is_cie = true;
      cies.insert(offset);
    } else {
      // The CIE pointer is the distance from its own field back to an earlier CIE's length word.
      record.cie_offset = offset + kIdField - frame.id;
      if (frame.id > offset + kIdField || cies.count(record.cie_offset) == 0) {
        throw Refused(offset, "CIE pointer " + Hex(frame.id) + " names no earlier CIE");
      }
      const FdeBody body = ReadFdeBody(record_bytes);
      if (!body.problem.empty()) throw Refused(offset, body.problem);
      record.pc_begin_field = offset + kPcBeginField;
      record.pc_range = body.pc_range;
    }
    records.push_back(record);
    offset += frame.size;
  }
}

void CheckCarriedEhFrame(const Bundle& bundle, size_t section_index) {
  if (section_index >= bundle.sections.size()) {
    throw BadBundle("no section " + std::to_string(section_index + 1) + " to read as " +
                    kEhFrameSectionName);
  }
  const BundleSection& section = bundle.sections[section_index];
  const std::string label = SectionLabel(bundle, section_index);
  if (section.type != SHT_PROGBITS) {
    throw BadBundle(label + ": type " + std::to_string(section.type) + " is not SHT_PROGBITS");
  }
  // Read-only data of the patch: the engine relocates it, then nothing writes or runs it.
  if (section.flags != SHF_ALLOC) {
    throw BadBundle(label + ": flags " + Hex(section.flags) + " are not exactly SHF_ALLOC");
  }
  // 8, as GCC aligns .eh_frame on x86-64: with records of multiples of 4, every length word and
  // pc_begin field is then 4-aligned wherever the engine places the section.
  if (section.alignment != kSectionAlignment) {
    throw BadBundle(label + ": alignment " + std::to_string(section.alignment) + " is not 8");
  }
  CheckRelocations(bundle, section_index, ParseCarriedEhFrame(section.bytes));
}

CarriedEhFrameStats AppendCarriedEhFrame(
    const elf::ElfFile& object,
    const std::function<std::optional<uint32_t>(uint32_t section_index)>& carried,
    BundleSection& out) {
  SetEhFrameAttributes(out);
  const elf::Section* eh_frame = object.FindSection(kEhFrameSectionName);
  // GAS marks .eh_frame SHT_X86_64_UNWIND on some configurations, SHT_PROGBITS on Debian's.
  if (eh_frame == nullptr ||
      (eh_frame->type != SHT_PROGBITS && eh_frame->type != SHT_X86_64_UNWIND)) {
    return {};
  }
  return ObjectEhFrameCopier(object, *eh_frame, carried, out).Copy();
}

bool FinishCarriedEhFrame(BundleSection& out) {
  if (out.relocations.empty()) {  // one relocation per carried FDE: none carried
    out = BundleSection{};
    return false;
  }
  SetEhFrameAttributes(out);
  out.bytes.insert(out.bytes.end(), 4, 0);  // LSB: a zero length word ends .eh_frame
  return true;
}

}  // namespace hotpatch::bundle
