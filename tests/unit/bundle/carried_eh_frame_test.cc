// The call frame information a bundle carries (bundle/carried_eh_frame.h): the strict reader of
// a bundle's .eh_frame, its relocation rule inside ValidateBundle, and the producers' copy of the
// records of objects compiled here by the system compilers, as the generator's inputs are.
#include "bundle/carried_eh_frame.h"

#include <elf.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "base/error.h"
#include "bundle/bundle.h"
#include "elf/elf_file.h"
#include "sample_bundles.h"
#include "support/scratch_directory.h"

namespace hotpatch::bundle::test {
namespace {

// The fields of a CIE that the carried subset constrains, as GCC writes them for x86-64.
struct CieFields {
  uint8_t version = 1;
  std::string augmentation = "zR";
  uint8_t code_alignment = 1;
  uint8_t return_address = 16;
  uint8_t augmentation_size = 1;
  uint8_t encoding = 0x1b;  // DW_EH_PE_pcrel | DW_EH_PE_sdata4
};

// A hand-built .eh_frame, records laid out as GCC does (padded with DW_CFA_nop to 4 bytes).
class EhFrameBytes {
 public:
  // Returns the offset of the CIE's length word.
  uint64_t Cie(const CieFields& fields = {}) {
    std::vector<uint8_t> body = {0, 0, 0, 0, fields.version};
    body.insert(body.end(), fields.augmentation.begin(), fields.augmentation.end());
    body.push_back(0);
    body.insert(body.end(), {fields.code_alignment, 0x78 /* -8 */, fields.return_address,
                             fields.augmentation_size, fields.encoding});
    body.insert(body.end(), {0x0c, 7, 8, 0x90, 1});  // def_cfa rsp+8; rip at cfa-8
    return Record(Padded(body));
  }
  // An FDE using the CIE at `cie`; pc_begin 0 (the relocation fills it in).
  uint64_t Fde(uint64_t cie, uint32_t range) {
    const uint64_t at = bytes.size();
    std::vector<uint8_t> body(12, 0);
    const uint32_t pointer = static_cast<uint32_t>(at + 4 - cie);
    std::memcpy(body.data(), &pointer, 4);
    std::memcpy(body.data() + 8, &range, 4);
    body.insert(body.end(), {0 /* augmentation data length */, 0x41, 0x0e, 16});
    return Record(Padded(body));
  }
  // A record with this length word and body, as they are.
  uint64_t Record(const std::vector<uint8_t>& body) {
    return Raw(static_cast<uint32_t>(body.size()), body);
  }
  uint64_t Raw(uint32_t length, const std::vector<uint8_t>& body) {
    const uint64_t at = bytes.size();
    bytes.resize(at + 4);
    std::memcpy(bytes.data() + at, &length, 4);
    bytes.insert(bytes.end(), body.begin(), body.end());
    return at;
  }
  void Terminator() { bytes.insert(bytes.end(), 4, 0); }

  std::vector<uint8_t> bytes;

 private:
  static std::vector<uint8_t> Padded(std::vector<uint8_t> body) {
    while (body.size() % 4 != 0) body.push_back(0);  // DW_CFA_nop
    return body;
  }
};

std::string ParseMessage(const EhFrameBytes& eh_frame) {
  return BadBundleMessage([&] { ParseCarriedEhFrame(eh_frame.bytes); });
}

TEST_CASE("a carried .eh_frame parses into its records") {
  EhFrameBytes eh_frame;
  const uint64_t cie = eh_frame.Cie();
  const uint64_t first = eh_frame.Fde(cie, 0x28);
  const uint64_t second = eh_frame.Fde(cie, 0x10);
  eh_frame.Terminator();
  const std::vector<EhFrameRecord> records = ParseCarriedEhFrame(eh_frame.bytes);
  REQUIRE(records.size() == 3);
  CHECK(records[0].is_cie);
  CHECK(records[0].offset == 0);
  CHECK(records[0].size == 24);  // GCC's: length 0x14
  CHECK_FALSE(records[1].is_cie);
  CHECK(records[1].offset == first);
  CHECK(records[1].size == 20);
  CHECK(records[1].cie_offset == cie);
  CHECK(records[1].pc_begin_field == first + 8);
  CHECK(records[1].pc_range == 0x28);
  CHECK(records[2].offset == second);
  CHECK(records[2].cie_offset == cie);
  CHECK(records[2].pc_range == 0x10);
}

TEST_CASE("each broken rule of a carried .eh_frame is refused naming the rule") {
  EhFrameBytes eh_frame;
  SECTION("a section that ends inside a length word") {
    eh_frame.Cie();
    eh_frame.bytes.insert(eh_frame.bytes.end(), {0, 0});
    CHECK_THAT(ParseMessage(eh_frame),
               Catch::Contains(".eh_frame record at offset 0x18: the section ends inside"));
  }
  SECTION("a 64-bit length") {
    eh_frame.Raw(0xffffffff, std::vector<uint8_t>(28, 0));
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("offset 0x0: 64-bit length"));
  }
  SECTION("no terminator") {
    eh_frame.Fde(eh_frame.Cie(), 8);
    CHECK_THAT(ParseMessage(eh_frame),
               Catch::Contains("offset 0x2c: the section ends without a terminator"));
  }
  SECTION("an empty section") {
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("without a terminator"));
  }
  SECTION("a terminator before the end") {
    eh_frame.Cie();
    eh_frame.Terminator();
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame),
               Catch::Contains("offset 0x18: terminator (a zero length word) before the "));
  }
  SECTION("a record past the end of the section") {
    eh_frame.Raw(64, std::vector<uint8_t>(20, 0));
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("length 64 does not fit"));
  }
  SECTION("a record too short for its CIE id") {
    eh_frame.Raw(2, {0, 0});
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("length 2 does not fit a CIE id"));
  }
  SECTION("a CIE pointer that names an FDE") {
    const uint64_t cie = eh_frame.Cie();
    const uint64_t fde = eh_frame.Fde(cie, 8);
    eh_frame.Fde(fde, 8);
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame),
               Catch::Contains("offset 0x2c: CIE pointer 0x18 names no earlier CIE"));
  }
  SECTION("a CIE pointer before the section") {
    eh_frame.Cie();
    eh_frame.Fde(0, 8);
    const uint32_t pointer = 0x100;
    std::memcpy(eh_frame.bytes.data() + 0x18 + 4, &pointer, 4);
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("CIE pointer 0x100 names no earlier CIE"));
  }
  SECTION("a C++ CIE with personality and LSDA") {
    eh_frame.Cie({.augmentation = "zPLR"});
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame),
               Catch::Contains("offset 0x0: CIE augmentation \"zPLR\" is not \"zR\""));
  }
  SECTION("a CIE without augmentation") {
    eh_frame.Cie({.augmentation = ""});
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("CIE augmentation \"\" is not \"zR\""));
  }
  SECTION("another FDE pointer encoding") {
    eh_frame.Cie({.encoding = 0x03});  // DW_EH_PE_udata4, absolute
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("CIE FDE pointer encoding 0x3 is not 0x1b"));
  }
  SECTION("another augmentation data length") {
    eh_frame.Cie({.augmentation_size = 2});
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("CIE augmentation data length 2 is not 1"));
  }
  SECTION("another CIE version") {
    eh_frame.Cie({.version = 3});
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("CIE version 3 is not 1"));
  }
  SECTION("another return address register") {
    eh_frame.Cie({.return_address = 15});
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("CIE return address register 15 is not 16"));
  }
  SECTION("a zero code alignment factor") {
    eh_frame.Cie({.code_alignment = 0});
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("CIE code alignment factor 0"));
  }
  SECTION("a CIE whose augmentation string runs past the record") {
    eh_frame.Record({0, 0, 0, 0, 1, 'z', 'R', 'R'});
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("CIE version and augmentation run past"));
  }
  SECTION("a CIE whose fields run past the record") {
    eh_frame.Record({0, 0, 0, 0, 1, 'z', 'R', 0});
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("CIE fields run past the record"));
  }
  SECTION("a record that is not a multiple of 4 bytes") {
    eh_frame.Cie();
    eh_frame.Raw(13, {0x1c, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0, 0, 0});
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("FDE size 17 is not a multiple of 4"));
  }
  SECTION("an FDE too short for pc_begin and pc_range") {
    eh_frame.Cie();
    eh_frame.Record({0x1c, 0, 0, 0, 0, 0, 0, 0});
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame), Catch::Contains("no room for pc_begin and pc_range"));
  }
  SECTION("FDE augmentation data past the record") {
    const uint64_t cie = eh_frame.Cie();
    const uint64_t fde = eh_frame.Fde(cie, 8);
    eh_frame.bytes[fde + 16] = 0x40;  // 64 bytes of augmentation data in a 20-byte record
    eh_frame.Terminator();
    CHECK_THAT(ParseMessage(eh_frame),
               Catch::Contains("offset 0x18: FDE augmentation data runs past the record"));
  }
}

// Symbols of CallFrameBundle().
enum CallFrameSymbol : uint32_t { kCodeSection, kDataSection, kFunction, kPutsSymbol };

// SmallBundle's function (3 bytes of code) with a read-only datum and its call frame information:
// sections .text.f, .rodata.r, .eh_frame (one CIE, one FDE for all of .text.f).
Bundle CallFrameBundle() {
  Bundle bundle = SmallBundle();
  bundle.sections.push_back(Section(".rodata.r", SHF_ALLOC, 8, std::vector<uint8_t>(8)));
  EhFrameBytes eh_frame;
  const uint64_t fde = eh_frame.Fde(eh_frame.Cie(), 3);
  eh_frame.Terminator();
  bundle.sections.push_back(Section(".eh_frame", SHF_ALLOC, 8, eh_frame.bytes));
  bundle.sections.back().relocations = {{fde + 8, R_X86_64_PC32, kCodeSection, 0}};
  bundle.symbols = {
      Symbol("", SymbolKind::kDefined, STT_SECTION, STB_LOCAL, 0, 0, 0),
      Symbol("", SymbolKind::kDefined, STT_SECTION, STB_LOCAL, 1, 0, 0),
      Symbol("f", SymbolKind::kDefined, STT_FUNC, STB_GLOBAL, 0, 0, 3),
      Symbol("puts", SymbolKind::kExternal, STT_FUNC, STB_GLOBAL, 0, 0, 0),
  };
  bundle.replaced[0].replacement_symbol = kFunction;
  return bundle;
}

constexpr size_t kEhFrameIndex = 2;
constexpr uint64_t kFdeOffset = 0x18;
constexpr uint64_t kPcBegin = kFdeOffset + 8;

std::string WriteMessage(const Bundle& bundle) {
  return BadBundleMessage([&] { WriteBundle(bundle); });
}

TEST_CASE("a bundle with call frame information survives write and read") {
  const Bundle bundle = CallFrameBundle();
  const std::vector<uint8_t> file = WriteBundle(bundle);
  CHECK(ReadBundle(file) == bundle);
  CHECK(WriteBundle(ReadBundle(file)) == file);
}

TEST_CASE("readelf reads a bundle's carried .eh_frame without complaint") {
  const hotpatch::test::ScratchDirectory scratch("carried-eh-frame");
  const std::vector<uint8_t> file = WriteBundle(CallFrameBundle());
  std::ofstream(scratch / "frames.hpb", std::ios::binary)
      .write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  const std::string frames = hotpatch::test::RunCommand("readelf -wf " + (scratch / "frames.hpb"));
  INFO(frames);
  CHECK_THAT(frames, !Catch::Contains("Warning") && !Catch::Contains("Error"));
  CHECK_THAT(frames, Catch::Contains("Augmentation:          \"zR\""));
  CHECK_THAT(frames, Catch::Contains("FDE cie=00000000 pc=0000000000000000..0000000000000003"));
  CHECK_THAT(frames, Catch::Contains("ZERO terminator"));
}

TEST_CASE("the reader refuses a carried .eh_frame outside the subset") {
  std::vector<uint8_t> file = WriteBundle(CallFrameBundle());
  // The CIE's augmentation "zR" becomes "zP", then the checksum is made right again, so that the
  // reader must find the broken rule itself.
  Poke<uint8_t>(file, SectionOffset(file, ".eh_frame") + 10, 'P');
  Reseal(file);
  CHECK_THAT(BadBundleMessage([&] { ReadBundle(file); }),
             Catch::Contains(".eh_frame record at offset 0x0: CIE augmentation \"zP\""));
}

TEST_CASE("the relocation rule of a carried .eh_frame") {
  Bundle bundle = CallFrameBundle();
  BundleSection& eh_frame = bundle.sections[kEhFrameIndex];
  SECTION("a pc_begin without relocation") {
    eh_frame.relocations.clear();
    CHECK_THAT(WriteMessage(bundle),
               Catch::Contains("offset 0x18: FDE's pc_begin field at 0x20 has no R_X86_64_PC32"));
  }
  SECTION("a pc_begin relocated by another type") {
    eh_frame.relocations[0].type = R_X86_64_32;
    CHECK_THAT(WriteMessage(bundle),
               Catch::Contains("section 3 '.eh_frame' relocation 0 at 0x20: type 10 is not "
                               "R_X86_64_PC32"));
  }
  SECTION("a second relocation of pc_begin") {
    eh_frame.relocations.push_back(eh_frame.relocations[0]);
    CHECK_THAT(WriteMessage(bundle),
               Catch::Contains("relocation 1 at 0x20: a second relocation of one FDE's pc_begin"));
  }
  SECTION("a relocation elsewhere in the section") {
    eh_frame.relocations.push_back({kPcBegin + 4, R_X86_64_PC32, kCodeSection, 0});
    CHECK_THAT(WriteMessage(bundle),
               Catch::Contains("relocation 1 at 0x24: not at an FDE's pc_begin field"));
  }
  SECTION("a pc_begin naming a section that is not code") {
    eh_frame.relocations[0].symbol = kDataSection;
    CHECK_THAT(WriteMessage(bundle),
               Catch::Contains(".symtab entry 2 '' is not defined in an executable section"));
  }
  SECTION("a pc_begin naming a symbol outside the bundle") {
    eh_frame.relocations[0].symbol = kPutsSymbol;
    CHECK_THAT(WriteMessage(bundle),
               Catch::Contains(".symtab entry 4 'puts' is not defined in an executable section"));
  }
  SECTION("an FDE covering bytes past its code section") {
    eh_frame.relocations[0].addend = 1;  // 3 bytes from offset 1 of a 3-byte section
    CHECK_THAT(WriteMessage(bundle),
               Catch::Contains("the FDE covers 3 bytes at symbol value + addend 0x0 + 1, not "
                               "inside section 1 '.text.f' (3 bytes)"));
  }
  SECTION("an FDE covering bytes before its code section") {
    eh_frame.relocations[0].addend = -1;
    CHECK_THAT(WriteMessage(bundle), Catch::Contains("not inside section 1 '.text.f'"));
  }
  SECTION("two FDEs covering the same code") {
    EhFrameBytes bytes;
    const uint64_t cie = bytes.Cie();
    const uint64_t first = bytes.Fde(cie, 2);
    const uint64_t second = bytes.Fde(cie, 2);
    bytes.Terminator();
    eh_frame.bytes = bytes.bytes;
    eh_frame.relocations = {{first + 8, R_X86_64_PC32, kCodeSection, 0},
                            {second + 8, R_X86_64_PC32, kFunction, 1}};
    CHECK_THAT(WriteMessage(bundle),
               Catch::Contains("offset 0x2c: FDE overlaps the FDE at 0x18 in section 1 '.text.f'"));
  }
  SECTION("two FDEs side by side are fine") {
    EhFrameBytes bytes;
    const uint64_t cie = bytes.Cie();
    const uint64_t first = bytes.Fde(cie, 2);
    const uint64_t second = bytes.Fde(cie, 1);
    bytes.Terminator();
    eh_frame.bytes = bytes.bytes;
    eh_frame.relocations = {{first + 8, R_X86_64_PC32, kCodeSection, 0},
                            {second + 8, R_X86_64_PC32, kFunction, 2}};
    CHECK(ReadBundle(WriteBundle(bundle)) == bundle);
  }
  SECTION("flags other than SHF_ALLOC") {
    eh_frame.flags = SHF_ALLOC | SHF_WRITE;
    CHECK_THAT(WriteMessage(bundle),
               Catch::Contains("section 3 '.eh_frame': flags 0x3 are not exactly SHF_ALLOC"));
  }
  SECTION("an alignment other than 8") {
    eh_frame.alignment = 4;
    CHECK_THAT(WriteMessage(bundle),
               Catch::Contains("section 3 '.eh_frame': alignment 4 is not 8"));
  }
  SECTION("records outside the subset") {
    eh_frame.bytes.resize(eh_frame.bytes.size() - 4);  // the terminator
    CHECK_THAT(WriteMessage(bundle), Catch::Contains("ends without a terminator"));
  }
}

// --- Producers: the records of objects compiled here -------------------------------------------

// Compiles `source` (C or C++ by the file name) into an object as the generator's inputs are
// built, without frame pointers: then only the CFI can unwind the code.
elf::ElfFile CompileObject(const hotpatch::test::ScratchDirectory& scratch, const std::string& name,
                           const std::string& source) {
  std::ofstream(scratch / name) << source;
  const bool cxx = name.ends_with(".cc");
  hotpatch::test::RunCommand(std::string(cxx ? "g++" : "cc") +
                             " -O2 -fPIE -fomit-frame-pointer -ffunction-sections -fdata-sections "
                             "-c " +
                             (scratch / name) + " -o " + (scratch / (name + ".o")));
  return elf::ElfFile::Open(scratch / (name + ".o"));
}

uint32_t SectionIndex(const elf::ElfFile& object, const std::string& name) {
  const elf::Section* section = object.FindSection(name);
  REQUIRE(section != nullptr);
  return section->index;
}

uint64_t FunctionSize(const elf::ElfFile& object, const std::string& name) {
  const auto found = object.FindSymbols(name);
  REQUIRE(found.size() == 1);
  return found.front()->size;
}

constexpr char kCSource[] = R"(
__attribute__((noinline)) int g1(int x) { return x * 3 + 1; }
__attribute__((noinline)) int g2(int x) { return g1(x) + 2; }
__attribute__((noinline)) int g3(int x) { return x - 1; }
)";

TEST_CASE("the FDEs of carried code are copied with their CIE, relocated by section") {
  const hotpatch::test::ScratchDirectory scratch("carried-eh-frame");
  const elf::ElfFile object = CompileObject(scratch, "three.c", kCSource);
  const uint32_t g1 = SectionIndex(object, ".text.g1");
  const uint32_t g3 = SectionIndex(object, ".text.g3");
  // Bundle symbols 7 and 9 stand for the starts of the carried .text.g1 and .text.g3.
  const auto carried = [&](uint32_t index) -> std::optional<uint32_t> {
    if (index == g1) return 7;
    if (index == g3) return 9;
    return std::nullopt;
  };
  BundleSection out;
  const CarriedEhFrameStats stats = AppendCarriedEhFrame(object, carried, out);
  CHECK(stats.fdes_carried == 2);
  CHECK(stats.fdes_skipped == 0);
  CHECK(out.name == ".eh_frame");
  CHECK(out.flags == SHF_ALLOC);
  CHECK(out.alignment == 8);
  REQUIRE(FinishCarriedEhFrame(out));

  const std::vector<EhFrameRecord> records = ParseCarriedEhFrame(out.bytes);
  REQUIRE(records.size() == 3);  // one CIE, the FDEs of g1 and g3 (not g2's)
  CHECK(records[0].is_cie);
  REQUIRE(out.relocations.size() == 2);
  CHECK(out.relocations[0] == BundleRelocation{records[1].pc_begin_field, R_X86_64_PC32, 7, 0});
  CHECK(out.relocations[1] == BundleRelocation{records[2].pc_begin_field, R_X86_64_PC32, 9, 0});
  CHECK(records[1].pc_range == FunctionSize(object, "g1"));
  CHECK(records[2].pc_range == FunctionSize(object, "g3"));
  // GCC's "zR" records come out as they are: the CIE, g1's FDE (the first, as in the object) and
  // g3's but for its CIE pointer (g2's FDE is not carried).
  const auto object_bytes = object.SectionData(*object.FindSection(".eh_frame"));
  std::vector<uint8_t> object_frames(object_bytes.begin(), object_bytes.end());
  object_frames.insert(object_frames.end(), 4, 0);  // a terminator, for the strict reader
  const std::vector<EhFrameRecord> object_records = ParseCarriedEhFrame(object_frames);
  REQUIRE(object_records.size() == 4);
  const auto bytes_of = [](const std::vector<uint8_t>& bytes, const EhFrameRecord& record) {
    return std::vector<uint8_t>(
        bytes.begin() + static_cast<ptrdiff_t>(record.offset),
        bytes.begin() + static_cast<ptrdiff_t>(record.offset + record.size));
  };
  CHECK(bytes_of(out.bytes, records[0]) == bytes_of(object_frames, object_records[0]));
  CHECK(bytes_of(out.bytes, records[1]) == bytes_of(object_frames, object_records[1]));
  std::vector<uint8_t> g3_fde = bytes_of(object_frames, object_records[3]);
  std::copy_n(out.bytes.begin() + static_cast<ptrdiff_t>(records[2].offset + 4), 4,
              g3_fde.begin() + 4);  // the CIE pointer
  CHECK(bytes_of(out.bytes, records[2]) == g3_fde);

  SECTION("a second object's CIE is a record of its own") {
    out.bytes.resize(out.bytes.size() - 4);  // unfinished again
    const elf::ElfFile other = CompileObject(scratch, "other.c", kCSource);
    const uint32_t other_g2 = SectionIndex(other, ".text.g2");
    CHECK(AppendCarriedEhFrame(
              other,
              [&](uint32_t index) -> std::optional<uint32_t> {
                if (index == other_g2) return 11;
                return std::nullopt;
              },
              out)
              .fdes_carried == 1);
    REQUIRE(FinishCarriedEhFrame(out));
    const std::vector<EhFrameRecord> all = ParseCarriedEhFrame(out.bytes);
    REQUIRE(all.size() == 5);
    CHECK(all[3].is_cie);
    CHECK(all[4].cie_offset == all[3].offset);
    CHECK(all[4].pc_range == FunctionSize(other, "g2"));
    REQUIRE(out.relocations.size() == 3);
    CHECK(out.relocations[2] == BundleRelocation{all[4].pc_begin_field, R_X86_64_PC32, 11, 0});
  }
}

TEST_CASE("nothing carried leaves no .eh_frame") {
  const hotpatch::test::ScratchDirectory scratch("carried-eh-frame");
  const elf::ElfFile object = CompileObject(scratch, "three.c", kCSource);
  BundleSection out;
  const CarriedEhFrameStats stats = AppendCarriedEhFrame(
      object, [](uint32_t) { return std::optional<uint32_t>(); }, out);
  CHECK(stats.fdes_carried == 0);
  CHECK(stats.fdes_skipped == 0);
  CHECK_FALSE(FinishCarriedEhFrame(out));
  CHECK(out == BundleSection{});
}

// SmallBundle with the non-empty code sections of `object` added (their bytes as compiled, their
// relocations left out: only the call frame information matters here), one STT_SECTION symbol
// each, and the .eh_frame AppendCarriedEhFrame makes for them: a bundle ValidateBundle checks.
struct ObjectCodeBundle {
  Bundle bundle;
  CarriedEhFrameStats stats;
  std::map<uint32_t, uint32_t> symbol_of_section;  // object section index -> bundle symbol
};

ObjectCodeBundle BundleOfObjectCode(const elf::ElfFile& object) {
  ObjectCodeBundle result;
  Bundle& bundle = result.bundle;
  bundle = SmallBundle();  // section 0 .text.f, symbol 0 f
  std::vector<BundleSymbol> symbols;
  for (const elf::Section& section : object.sections()) {
    if (section.type != SHT_PROGBITS || (section.flags & SHF_EXECINSTR) == 0 || section.size == 0) {
      continue;
    }
    const auto bytes = object.SectionData(section);
    bundle.sections.push_back(Section(section.name, SHF_ALLOC | SHF_EXECINSTR,
                                      std::max<uint64_t>(section.alignment, 1),
                                      std::vector<uint8_t>(bytes.begin(), bytes.end())));
    result.symbol_of_section[section.index] = static_cast<uint32_t>(symbols.size());
    symbols.push_back(Symbol("", SymbolKind::kDefined, STT_SECTION, STB_LOCAL,
                             static_cast<uint32_t>(bundle.sections.size() - 1), 0, 0));
  }
  // Locals first (gABI), then SmallBundle's f.
  bundle.replaced[0].replacement_symbol = static_cast<uint32_t>(symbols.size());
  symbols.push_back(bundle.symbols[0]);
  bundle.symbols = symbols;
  BundleSection eh_frame;
  const std::map<uint32_t, uint32_t>& symbol_of = result.symbol_of_section;
  result.stats = AppendCarriedEhFrame(
      object,
      [&symbol_of](uint32_t index) -> std::optional<uint32_t> {
        const auto found = symbol_of.find(index);
        if (found == symbol_of.end()) return std::nullopt;
        return found->second;
      },
      eh_frame);
  if (FinishCarriedEhFrame(eh_frame)) bundle.sections.push_back(std::move(eh_frame));
  return result;
}

// One record of `readelf -wf`'s account of a file's .eh_frame: "CIE" or "FDE", the CIE's fields
// (version, alignment factors, return address column), its augmentation string and data, and the
// CFA program as readelf decodes it, without the DW_CFA_nop padding and without the addresses
// of DW_CFA_advance_loc (which depend on where readelf puts pc_begin).
struct ReadelfRecord {
  std::string kind;
  std::vector<std::string> fields;
  std::string augmentation;
  std::string augmentation_data;
  std::vector<std::string> program;
};

std::vector<ReadelfRecord> ReadelfFrames(const std::string& path) {
  const std::string text = hotpatch::test::RunCommand("readelf -wf " + path);
  INFO(text);
  CHECK_THAT(text, !Catch::Contains("Warning") && !Catch::Contains("Error"));
  static const std::regex kHeader("^[0-9a-f]{8} [0-9a-f]+ [0-9a-f]+ (CIE|FDE)");
  static const std::regex kAddress(" to [0-9a-f]+$");
  std::vector<ReadelfRecord> records;
  std::istringstream lines(text);
  std::smatch match;
  for (std::string line; std::getline(lines, line);) {
    if (std::regex_search(line, match, kHeader)) {
      records.push_back({match[1].str(), {}, "", "", {}});
    } else if (records.empty() || !line.starts_with("  ") || line == "  DW_CFA_nop") {
      continue;
    } else if (line.starts_with("  Augmentation data:")) {
      records.back().augmentation_data = line.substr(line.find(':') + 1);
    } else if (line.starts_with("  Augmentation:")) {
      records.back().augmentation = line.substr(line.find(':') + 1);
    } else if (line.starts_with("  DW_CFA_")) {
      records.back().program.push_back(std::regex_replace(line, kAddress, ""));
    } else {
      records.back().fields.push_back(line);
    }
  }
  return records;
}

void WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
}

TEST_CASE("FDEs whose CIE has a C++ personality and LSDA are rewritten into the carried subset") {
  const hotpatch::test::ScratchDirectory scratch("carried-eh-frame");
  const elf::ElfFile object = CompileObject(scratch, "cleanup.cc", R"(
struct Guard { ~Guard(); };
void Work();
int WithCleanup() { Guard guard; Work(); return 1; }  // a landing pad: CIE "zPLR", an LSDA
int Plain(int x) { return x + 1; }                    // no unwinding work: CIE "zR"
)");
  // GCC moves WithCleanup's landing pad to WithCleanup.cold (.text.unlikely._Z11WithCleanupv),
  // which has an FDE with an LSDA of its own: three FDEs, two of them with an LSDA.
  const ObjectCodeBundle made = BundleOfObjectCode(object);
  const Bundle& bundle = made.bundle;
  CHECK(made.stats.fdes_carried == 3);
  CHECK(made.stats.fdes_skipped == 0);
  REQUIRE(bundle.sections.back().name == ".eh_frame");
  const BundleSection& eh_frame = bundle.sections.back();

  // One relocation per FDE, at its pc_begin, naming its code section's symbol; the personality
  // pointer's and the LSDA pointers' relocations are gone.
  std::vector<EhFrameRecord> fdes;
  for (const EhFrameRecord& record : ParseCarriedEhFrame(eh_frame.bytes)) {
    if (!record.is_cie) fdes.push_back(record);
  }
  REQUIRE(fdes.size() == 3);
  REQUIRE(eh_frame.relocations.size() == 3);
  std::vector<uint32_t> symbols;
  for (size_t i = 0; i < fdes.size(); ++i) {
    CHECK(eh_frame.relocations[i] == BundleRelocation{fdes[i].pc_begin_field, R_X86_64_PC32,
                                                      eh_frame.relocations[i].symbol, 0});
    symbols.push_back(eh_frame.relocations[i].symbol);
  }
  std::vector<uint32_t> expected;
  for (const char* name :
       {".text._Z11WithCleanupv", ".text.unlikely._Z11WithCleanupv", ".text._Z5Plaini"}) {
    expected.push_back(made.symbol_of_section.at(SectionIndex(object, name)));
  }
  std::sort(symbols.begin(), symbols.end());
  std::sort(expected.begin(), expected.end());
  CHECK(symbols == expected);

  // A bundle like any other: ValidateBundle (CheckCarriedEhFrame) on write and on read.
  const std::vector<uint8_t> file = WriteBundle(bundle);
  CHECK(ReadBundle(file) == bundle);
  CHECK(WriteBundle(ReadBundle(file)) == file);

  // readelf decodes the same CFA programs from the object and from the bundle, record by record
  // (the CIEs come before their first FDE, as in the object); the bundle's CIEs are "zR" with
  // the FDE encoding 0x1b only, its FDEs have no augmentation data (no LSDA pointer).
  WriteFile(scratch / "cleanup.hpb", file);
  const std::vector<ReadelfRecord> original = ReadelfFrames(scratch / "cleanup.cc.o");
  const std::vector<ReadelfRecord> carried = ReadelfFrames(scratch / "cleanup.hpb");
  REQUIRE(original.size() == 5);  // CIE "zPLR", 2 FDEs, CIE "zR", 1 FDE
  CHECK(original[0].augmentation == R"(          "zPLR")");
  CHECK(original[1].program.size() > 4);  // WithCleanup's pushes, pops and remember_state
  REQUIRE(carried.size() == original.size());
  for (size_t i = 0; i < carried.size(); ++i) {
    INFO("record " << i);
    CHECK(carried[i].kind == original[i].kind);
    CHECK(carried[i].fields == original[i].fields);
    CHECK(carried[i].program == original[i].program);
    if (carried[i].kind == "CIE") {
      CHECK(carried[i].augmentation == R"(          "zR")");
      CHECK(carried[i].augmentation_data == "     1b");
    } else {
      CHECK(carried[i].augmentation_data.empty());
    }
  }
}

// The hand-written .eh_frame of one function f (16 bytes of .text) in an object assembled by GNU
// as: one CIE with `augmentation` and the augmentation data `cie_data`, then f's FDE with the
// augmentation data `fde_data` (assembler lines; the lengths are the assembler's). The CIE's
// fields and initial instructions are GCC's for x86-64; the FDE's program is one advance and
// one def_cfa_offset. So forms GCC does not emit here can be tried.
struct HandFrames {
  std::string augmentation;
  std::string cie_data;
  std::string fde_data;
};

elf::ElfFile AssembleFrames(const hotpatch::test::ScratchDirectory& scratch,
                            const HandFrames& frames) {
  std::ofstream(scratch / "frames.s") << R"(
  .text
  .globl f
f:
  .fill 16, 1, 0xc3
  .section .gcc_except_table,"a",@progbits
.Llsda:
  .byte 0xff, 0xff, 1, 0
  .section .eh_frame,"a",@progbits
.Lcie:
  .long .Lcie_end - .Lcie_id
.Lcie_id:
  .long 0
  .byte 1
  .asciz ")" << frames.augmentation << R"("
  .uleb128 1
  .sleb128 -8
  .byte 16
  .uleb128 .Lcie_data_end - .Lcie_data
.Lcie_data:
)" << frames.cie_data << R"(
.Lcie_data_end:
  .byte 0x0c, 7, 8, 0x90, 1
  .balign 4, 0
.Lcie_end:
  .long .Lfde_end - .Lfde_pointer
.Lfde_pointer:
  .long .Lfde_pointer - .Lcie
  .long f - .
  .long 16
  .uleb128 .Lfde_data_end - .Lfde_data
.Lfde_data:
)" << frames.fde_data << R"(
.Lfde_data_end:
  .byte 0x41, 0x0e, 16
  .balign 4, 0
.Lfde_end:
)";
  hotpatch::test::RunCommand("cc -c " + (scratch / "frames.s") + " -o " + (scratch / "frames.o"));
  return elf::ElfFile::Open(scratch / "frames.o");
}

TEST_CASE("hand-written CIEs with personality and LSDA are rewritten to \"zR\"") {
  const hotpatch::test::ScratchDirectory scratch("carried-eh-frame");
  HandFrames frames;
  SECTION("\"zPLR\", personality pcrel|sdata4, a 4-byte LSDA pointer") {
    frames = {"zPLR", ".byte 0x1b\n.long __gxx_personality_v0 - .\n.byte 0x1b\n.byte 0x1b",
              ".long .Llsda - ."};
  }
  SECTION("\"zPLR\", personality absptr (8 bytes), an 8-byte LSDA pointer") {
    frames = {"zPLR", ".byte 0x00\n.quad __gxx_personality_v0\n.byte 0x00\n.byte 0x1b",
              ".quad .Llsda"};
  }
  SECTION("\"zPLR\", personality indirect|pcrel|sdata4 via DW.ref, as GCC writes it") {
    frames = {"zPLR", ".byte 0x9b\n.long DW.ref.__gxx_personality_v0 - .\n.byte 0x1b\n.byte 0x1b",
              ".long .Llsda - ."};
  }
  SECTION("\"zPR\", personality uleb128, no LSDA") {
    frames = {"zPR", ".byte 0x01\n.uleb128 0x1234\n.byte 0x1b", ""};
  }
  SECTION("\"zPR\", personality udata2") {
    frames = {"zPR", ".byte 0x02\n.short 0x1234\n.byte 0x1b", ""};
  }
  SECTION("\"zLR\"") {
    frames = {"zLR", ".byte 0x1b\n.byte 0x1b", ".long .Llsda - ."};
  }
  SECTION("\"zRPL\": the augmentation data in the string's order") {
    frames = {"zRPL", ".byte 0x1b\n.byte 0x1b\n.long __gxx_personality_v0 - .\n.byte 0x1b",
              ".long .Llsda - ."};
  }
  const elf::ElfFile object = AssembleFrames(scratch, frames);
  const uint32_t text = SectionIndex(object, ".text");
  BundleSection out;
  const CarriedEhFrameStats stats = AppendCarriedEhFrame(
      object,
      [text](uint32_t index) -> std::optional<uint32_t> {
        if (index == text) return 7;
        return std::nullopt;
      },
      out);
  CHECK(stats.fdes_carried == 1);
  CHECK(stats.fdes_skipped == 0);
  REQUIRE(FinishCarriedEhFrame(out));
  // The same bytes whatever the object's CIE had: GCC's "zR" CIE and an FDE without
  // augmentation data, each padded to a multiple of 4 bytes.
  CHECK(out.bytes == std::vector<uint8_t>{
                         0x14, 0,    0,   0,        // CIE length
                         0,    0,    0,   0,        // CIE id
                         1,    'z',  'R', 0,        // version, augmentation
                         1,    0x78, 16,            // code and data alignment, return address
                         1,    0x1b,                // augmentation data: FDE encoding pcrel|sdata4
                         0x0c, 7,    8,   0x90, 1,  // def_cfa rsp+8; rip at cfa-8
                         0,    0,                   // DW_CFA_nop
                         0x10, 0,    0,   0,        // FDE length
                         0x1c, 0,    0,   0,        // CIE pointer
                         0,    0,    0,   0,        // pc_begin (relocated)
                         16,   0,    0,   0,        // pc_range
                         0,                         // augmentation data length
                         0x41, 0x0e, 16,            // advance_loc 1; def_cfa_offset 16
                         0,    0,    0,   0,        // terminator
                     });
  // Only pc_begin's relocation: the personality's and the LSDA's are dropped.
  REQUIRE(out.relocations.size() == 1);
  CHECK(out.relocations[0] == BundleRelocation{0x20, R_X86_64_PC32, 7, 0});
}

TEST_CASE("CIEs the rewrite cannot carry still leave their FDEs out, counted") {
  const hotpatch::test::ScratchDirectory scratch("carried-eh-frame");
  HandFrames frames;
  SECTION("a signal frame \"zRS\"") {
    frames = {"zRS", ".byte 0x1b", ""};
  }
  SECTION("a signal frame \"zPLRS\"") {
    frames = {"zPLRS", ".byte 0x1b\n.long __gxx_personality_v0 - .\n.byte 0x1b\n.byte 0x1b",
              ".long .Llsda - ."};
  }
  SECTION("another FDE pointer encoding") {
    frames = {"zPLR", ".byte 0x1b\n.long __gxx_personality_v0 - .\n.byte 0x1b\n.byte 0x03",
              ".long .Llsda - ."};
  }
  SECTION("no 'R': absolute 8-byte FDE pointers") {
    frames = {"zPL", ".byte 0x1b\n.long __gxx_personality_v0 - .\n.byte 0x1b", ".long .Llsda - ."};
  }
  SECTION("a personality pointer of unknown size (DW_EH_PE_aligned)") {
    frames = {"zPR", ".byte 0x50\n.quad __gxx_personality_v0\n.byte 0x1b", ""};
  }
  SECTION("augmentation data longer than its fields") {
    frames = {"zR", ".byte 0x1b\n.byte 0", ""};
  }
  SECTION("an augmentation the rewrite does not know") {
    frames = {"zBR", ".byte 0x1b", ""};
  }
  const elf::ElfFile object = AssembleFrames(scratch, frames);
  BundleSection out;
  const CarriedEhFrameStats stats = AppendCarriedEhFrame(
      object, [](uint32_t index) { return std::optional(index); }, out);
  CHECK(stats.fdes_carried == 0);
  CHECK(stats.fdes_skipped == 1);
  CHECK_FALSE(FinishCarriedEhFrame(out));
}

TEST_CASE("an object .eh_frame whose records cannot be walked is refused naming the object") {
  const hotpatch::test::ScratchDirectory scratch("carried-eh-frame");
  const elf::ElfFile compiled = CompileObject(scratch, "three.c", kCSource);
  const elf::Section& section = *compiled.FindSection(".eh_frame");
  std::vector<uint8_t> bytes(compiled.bytes().begin(), compiled.bytes().end());
  uint32_t word = 0;
  SECTION("a CIE pointer naming no CIE") {
    word = 0x1000;
    std::memcpy(bytes.data() + section.offset + 0x18 + 4, &word, 4);  // the first FDE's pointer
    const elf::ElfFile object = elf::ElfFile::FromBytes(bytes, "broken.o");
    BundleSection out;
    try {
      AppendCarriedEhFrame(
          object, [](uint32_t index) { return std::optional(index); }, out);
      FAIL("accepted");
    } catch (const Error& error) {
      CHECK(error.code() == ErrorCode::kBadRequest);
      CHECK_THAT(error.what(),
                 Catch::Contains("broken.o: .eh_frame record at offset 0x18: CIE pointer 0x1000"));
    }
  }
  SECTION("a length past the section") {
    word = 0x10000;
    std::memcpy(bytes.data() + section.offset, &word, 4);  // the CIE's length
    const elf::ElfFile object = elf::ElfFile::FromBytes(bytes, "broken.o");
    BundleSection out;
    try {
      AppendCarriedEhFrame(
          object, [](uint32_t index) { return std::optional(index); }, out);
      FAIL("accepted");
    } catch (const Error& error) {
      CHECK(error.code() == ErrorCode::kBadRequest);
      CHECK_THAT(error.what(), Catch::Contains("offset 0x0: length 65536 does not fit"));
    }
  }
}

}  // namespace
}  // namespace hotpatch::bundle::test
