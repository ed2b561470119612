// ReadBundle: from untrusted bytes to a validated Bundle. The ELF skeleton is checked first
// (SectionTable), then the header's magic and version (a future format may lay out everything
// else differently), then the checksum, then every section, and finally the model's own rules.
#include <algorithm>
#include <cstring>
#include <set>

#include "base/hex.h"
#include "bundle/bounded_bytes.h"
#include "bundle/bundle.h"
#include "bundle/checksum.h"
#include "bundle/on_disk_records.h"
#include "bundle/section_table.h"

namespace hotpatch::bundle {
namespace {

std::string Label(const SectionEntry& section) {
  return "section " + std::to_string(section.index) + " '" + section.name + "'";
}

void ExpectField(const SectionEntry& section, const char* field, uint64_t actual,
                 uint64_t expected) {
  if (actual != expected) {
    throw BadBundle(Label(section) + ": " + field + " is " + std::to_string(actual) +
                    ", expected " + std::to_string(expected));
  }
}

void CheckPrivateSection(const SectionEntry& section, uint64_t alignment, uint64_t entry_size) {
  ExpectField(section, "sh_type", section.header.sh_type, SHT_PROGBITS);
  ExpectField(section, "sh_flags", section.header.sh_flags, 0);
  ExpectField(section, "sh_link", section.header.sh_link, 0);
  ExpectField(section, "sh_info", section.header.sh_info, 0);
  ExpectField(section, "sh_addralign", section.header.sh_addralign, alignment);
  ExpectField(section, "sh_entsize", section.header.sh_entsize, entry_size);
}

// A table section must hold exactly `count` records of `entry_size` bytes, `count` coming from the
// header: checked before anything is allocated for the entries.
void CheckTableSize(const SectionEntry& section, const char* count_field, uint64_t count,
                    uint64_t entry_size) {
  if (section.contents.size() % entry_size != 0 || section.contents.size() / entry_size != count) {
    throw BadBundle(std::string(kHeaderSection) + " " + count_field + " " + std::to_string(count) +
                    " does not match " + section.name + " (" +
                    std::to_string(section.contents.size()) + " bytes, " +
                    std::to_string(entry_size) + " per entry)");
  }
}

HeaderRecord ReadHeader(const SectionTable& table) {
  const SectionEntry& section = table.Get(kHeaderSection);
  const std::string name(kHeaderSection);
  if (section.contents.size() < offsetof(HeaderRecord, header_size) + sizeof(uint32_t)) {
    throw BadBundle(name + ": " + std::to_string(section.contents.size()) +
                    " bytes, too short for magic, format version and header size");
  }
  if (std::memcmp(section.contents.data(), kHeaderMagic, sizeof kHeaderMagic) != 0) {
    throw BadBundle(name + ": bad magic (not \"HOTPATCH\")");
  }
  const auto version =
      ReadRecord<uint32_t>(section.contents, offsetof(HeaderRecord, format_version), name);
  if (version != kFormatVersion) {
    throw BadBundle("format version " + std::to_string(version) +
                    " is not supported (this reader supports version " +
                    std::to_string(kFormatVersion) + ")");
  }
  const auto header_size =
      ReadRecord<uint32_t>(section.contents, offsetof(HeaderRecord, header_size), name);
  if (header_size != sizeof(HeaderRecord) || section.contents.size() != sizeof(HeaderRecord)) {
    throw BadBundle(name + ": header_size " + std::to_string(header_size) + " and section size " +
                    std::to_string(section.contents.size()) + " are not both " +
                    std::to_string(sizeof(HeaderRecord)) + " (format version 1)");
  }
  CheckPrivateSection(section, 8, 0);
  return ReadRecord<HeaderRecord>(section.contents, 0, name);
}

void CheckChecksum(std::span<const uint8_t> bytes) {
  const Checksum stored = StoredChecksum(bytes);
  const Checksum computed = BundleChecksum(bytes);
  if (stored != computed) {
    throw BadBundle("checksum mismatch: " + std::string(kChecksumSection) + " holds " +
                    ChecksumHex(stored) + ", the contents hash to " + ChecksumHex(computed));
  }
}

class BundleFileReader {
 public:
  BundleFileReader(const SectionTable& table, const HeaderRecord& header)
      : table_(table), header_(header), strings_(PrivateStrings(table)) {}

  Bundle Read() {
    ReadHeaderFields();
    ReadBundleSections();
    ReadSymbols();
    ReadRelocations();
    ReadReplacedFunctions();
    ReadNewFunctions();
    CheckSignatureSlot();
    CheckEverySectionKnown();
    return std::move(bundle_);
  }

 private:
  static StringTable PrivateStrings(const SectionTable& table) {
    const SectionEntry& section = table.Get(kStringsSection);
    CheckPrivateSection(section, 1, 0);
    return StringTable(section.contents, std::string(kStringsSection));
  }

  void ReadHeaderFields() {
    const std::string where = std::string(kHeaderSection) + ": ";
    bundle_.format_version = header_.format_version;
    bundle_.patch_id = strings_.At(header_.patch_id, where + "patch_id");
    bundle_.description = strings_.At(header_.description, where + "description");
    bundle_.target_module = strings_.At(header_.target_module, where + "target_module");
    bundle_.preferred_placement = static_cast<Placement>(header_.preferred_placement);
    if (header_.build_id_size > sizeof header_.build_id) {
      throw BadBundle(where + "build_id_size " + std::to_string(header_.build_id_size) +
                      " beyond build_id (" + std::to_string(sizeof header_.build_id) + " bytes)");
    }
    bundle_.target_build_id.assign(header_.build_id, header_.build_id + header_.build_id_size);
    if (std::any_of(header_.build_id + header_.build_id_size, std::end(header_.build_id),
                    [](uint8_t byte) { return byte != 0; })) {
      throw BadBundle(where + "build_id bytes beyond build_id_size are not zero");
    }
    bundle_.created_unix = header_.created_unix;
  }

  // The patch's own sections come first, at ELF indices 1..n, so that ELF index = model index + 1
  // (the numbering every message uses, readelf's too).
  void ReadBundleSections() {
    for (const SectionEntry& section : table_.sections()) {
      const bool is_bundle_section =
          (section.header.sh_type == SHT_PROGBITS || section.header.sh_type == SHT_NOBITS) &&
          !section.name.starts_with(kPrivateSectionPrefix);
      if (!is_bundle_section) continue;
      if (section.index != bundle_.sections.size() + 1) {
        throw BadBundle(Label(section) + ": the patch's sections must come first");
      }
      ExpectField(section, "sh_link", section.header.sh_link, 0);
      ExpectField(section, "sh_info", section.header.sh_info, 0);
      ExpectField(section, "sh_entsize", section.header.sh_entsize, 0);
      BundleSection out;
      out.name = section.name;
      out.type = section.header.sh_type;
      out.flags = section.header.sh_flags;
      out.alignment = section.header.sh_addralign;
      if (out.type == SHT_NOBITS) {
        out.nobits_size = section.header.sh_size;
      } else {
        out.bytes.assign(section.contents.begin(), section.contents.end());
      }
      bundle_.sections.push_back(std::move(out));
      known_.insert(section.index);
    }
  }

  // ELF section index of a section symbol's or relocation's target, as a model index.
  bool IsBundleSectionIndex(uint64_t index) const {
    return index >= 1 && index <= bundle_.sections.size();
  }

  void ReadSymbols() {
    const SectionEntry& symtab = table_.Get(".symtab");
    symtab_index_ = symtab.index;
    ExpectField(symtab, "sh_type", symtab.header.sh_type, SHT_SYMTAB);
    ExpectField(symtab, "sh_flags", symtab.header.sh_flags, 0);
    ExpectField(symtab, "sh_addralign", symtab.header.sh_addralign, 8);
    ExpectField(symtab, "sh_entsize", symtab.header.sh_entsize, sizeof(Elf64_Sym));
    CheckTableSize(symtab, "symbol_count", header_.symbol_count, sizeof(Elf64_Sym));
    const uint32_t count = header_.symbol_count;
    if (count == 0) throw BadBundle(Label(symtab) + ": no null entry");
    if (symtab.header.sh_info == 0 || symtab.header.sh_info > count) {
      throw BadBundle(Label(symtab) + ": sh_info " + std::to_string(symtab.header.sh_info) +
                      " is not a symbol index in 1.." + std::to_string(count));
    }
    const SectionEntry& strtab = table_.Get(".strtab");
    ExpectField(symtab, "sh_link", symtab.header.sh_link, strtab.index);
    ExpectField(strtab, "sh_type", strtab.header.sh_type, SHT_STRTAB);
    ExpectField(strtab, "sh_flags", strtab.header.sh_flags, 0);
    const StringTable names(strtab.contents, ".strtab");
    const SectionEntry& records = table_.Get(kSymbolsSection);
    CheckPrivateSection(records, 8, sizeof(SymbolRecord));
    CheckTableSize(records, "symbol_count", count, sizeof(SymbolRecord));
    known_.insert({symtab.index, strtab.index, records.index});

    static const Elf64_Sym kNullSymbol{};
    static const SymbolRecord kNullRecord{};
    const auto null_symbol = ReadRecord<Elf64_Sym>(symtab.contents, 0, ".symtab entry 0");
    const auto null_record = ReadRecord<SymbolRecord>(records.contents, 0, ".hotpatch.symbols");
    if (std::memcmp(&null_symbol, &kNullSymbol, sizeof kNullSymbol) != 0 ||
        std::memcmp(&null_record, &kNullRecord, sizeof kNullRecord) != 0) {
      throw BadBundle(".symtab entry 0 or its .hotpatch.symbols record is not all zero");
    }
    for (uint32_t i = 1; i < count; ++i) {
      const std::string where = ".symtab entry " + std::to_string(i);
      const auto sym = ReadRecord<Elf64_Sym>(symtab.contents, i * sizeof(Elf64_Sym), where);
      const auto record = ReadRecord<SymbolRecord>(records.contents, i * sizeof(SymbolRecord),
                                                   std::string(kSymbolsSection));
      BundleSymbol symbol;
      symbol.name = names.At(sym.st_name, where + ": name");
      symbol.type = ELF64_ST_TYPE(sym.st_info);
      symbol.binding = ELF64_ST_BIND(sym.st_info);
      symbol.size = sym.st_size;
      symbol.thread_local_symbol = symbol.type == STT_TLS;
      if (sym.st_other != 0) {
        throw BadBundle(where + ": st_other " + std::to_string(sym.st_other) + " is not 0");
      }
      // gABI: sh_info is one greater than the index of the last local symbol.
      if ((i < symtab.header.sh_info) != (symbol.binding == STB_LOCAL)) {
        throw BadBundle(where + ": binding " + std::to_string(symbol.binding) +
                        " disagrees with .symtab sh_info " + std::to_string(symtab.header.sh_info) +
                        " (locals first)");
      }
      if (record.kind > static_cast<uint8_t>(SymbolKind::kExternal) ||
          std::any_of(std::begin(record.reserved), std::end(record.reserved),
                      [](uint8_t byte) { return byte != 0; })) {
        throw BadBundle(std::string(kSymbolsSection) + " entry " + std::to_string(i) + ": kind " +
                        std::to_string(record.kind) + " or reserved bytes invalid");
      }
      symbol.kind = static_cast<SymbolKind>(record.kind);
      if (symbol.kind == SymbolKind::kDefined) {
        if (!IsBundleSectionIndex(sym.st_shndx)) {
          throw BadBundle(where + ": st_shndx " + std::to_string(sym.st_shndx) +
                          " is not one of the patch's sections (1.." +
                          std::to_string(bundle_.sections.size()) + ")");
        }
        if (record.target_offset != 0) {
          throw BadBundle(std::string(kSymbolsSection) + " entry " + std::to_string(i) +
                          ": a defined symbol with a target offset");
        }
        symbol.section = sym.st_shndx - 1u;
        symbol.value = sym.st_value;
      } else {
        if (sym.st_shndx != SHN_UNDEF || sym.st_value != 0) {
          throw BadBundle(where + ": a target or external symbol must be undefined with value 0");
        }
        if (symbol.kind == SymbolKind::kExternal && record.target_offset != 0) {
          throw BadBundle(std::string(kSymbolsSection) + " entry " + std::to_string(i) +
                          ": an external symbol with a target offset");
        }
        symbol.value = record.target_offset;
      }
      bundle_.symbols.push_back(std::move(symbol));
    }
  }

  void ReadRelocations() {
    std::vector<bool> has_relocations(bundle_.sections.size());
    for (const SectionEntry& rela : table_.sections()) {
      if (rela.header.sh_type != SHT_RELA) continue;
      ExpectField(rela, "sh_flags", rela.header.sh_flags, SHF_INFO_LINK);
      ExpectField(rela, "sh_link", rela.header.sh_link, symtab_index_);
      ExpectField(rela, "sh_addralign", rela.header.sh_addralign, 8);
      ExpectField(rela, "sh_entsize", rela.header.sh_entsize, sizeof(Elf64_Rela));
      if (!IsBundleSectionIndex(rela.header.sh_info)) {
        throw BadBundle(Label(rela) + ": sh_info " + std::to_string(rela.header.sh_info) +
                        " is not one of the patch's sections (1.." +
                        std::to_string(bundle_.sections.size()) + ")");
      }
      const uint32_t target = rela.header.sh_info - 1;
      BundleSection& section = bundle_.sections[target];
      if (rela.name != ".rela" + section.name || has_relocations[target]) {
        throw BadBundle(Label(rela) + ": not the one relocation section of '" + section.name + "'");
      }
      has_relocations[target] = true;
      if (rela.contents.size() % sizeof(Elf64_Rela) != 0) {
        throw BadBundle(Label(rela) + ": size " + std::to_string(rela.contents.size()) +
                        " is not a multiple of 24");
      }
      for (uint64_t offset = 0; offset < rela.contents.size(); offset += sizeof(Elf64_Rela)) {
        const std::string where =
            Label(rela) + " entry " + std::to_string(offset / sizeof(Elf64_Rela));
        const auto entry = ReadRecord<Elf64_Rela>(rela.contents, offset, where);
        const uint64_t symbol = ELF64_R_SYM(entry.r_info);
        if (symbol == 0 || symbol > bundle_.symbols.size()) {
          throw BadBundle(where + ": symbol " + std::to_string(symbol) +
                          " is not a .symtab entry (1.." + std::to_string(bundle_.symbols.size()) +
                          ")");
        }
        section.relocations.push_back({entry.r_offset,
                                       static_cast<uint32_t>(ELF64_R_TYPE(entry.r_info)),
                                       static_cast<uint32_t>(symbol - 1), entry.r_addend});
      }
      known_.insert(rela.index);
    }
  }

  uint32_t FunctionSymbol(uint32_t elf_index, const std::string& where) const {
    if (elf_index == 0 || elf_index > bundle_.symbols.size()) {
      throw BadBundle(where + ": symbol " + std::to_string(elf_index) +
                      " is not a .symtab entry (1.." + std::to_string(bundle_.symbols.size()) +
                      ")");
    }
    return elf_index - 1;
  }

  void ReadReplacedFunctions() {
    const SectionEntry& section = table_.Get(kFunctionsSection);
    CheckPrivateSection(section, 8, sizeof(FunctionRecord));
    CheckTableSize(section, "function_count", header_.function_count, sizeof(FunctionRecord));
    known_.insert(section.index);
    for (uint32_t i = 0; i < header_.function_count; ++i) {
      const std::string where = std::string(kFunctionsSection) + " entry " + std::to_string(i);
      const auto record =
          ReadRecord<FunctionRecord>(section.contents, uint64_t{i} * sizeof(FunctionRecord), where);
      ReplacedFunction function;
      function.name = strings_.At(record.name, where + ": name");
      function.source_file = strings_.At(record.source_file, where + ": source_file");
      if (record.reserved != 0) throw BadBundle(where + ": reserved field is not 0");
      function.replacement_symbol =
          FunctionSymbol(record.replacement_symbol, where + ": replacement_symbol");
      function.target_offset = record.target_offset;
      function.target_size = record.target_size;
      std::copy(std::begin(record.expected_sha256), std::end(record.expected_sha256),
                function.expected_sha256.begin());
      bundle_.replaced.push_back(std::move(function));
    }
  }

  void ReadNewFunctions() {
    const SectionEntry& section = table_.Get(kNewFunctionsSection);
    CheckPrivateSection(section, 4, sizeof(NewFunctionRecord));
    CheckTableSize(section, "new_function_count", header_.new_function_count,
                   sizeof(NewFunctionRecord));
    known_.insert(section.index);
    for (uint32_t i = 0; i < header_.new_function_count; ++i) {
      const std::string where = std::string(kNewFunctionsSection) + " entry " + std::to_string(i);
      const auto record = ReadRecord<NewFunctionRecord>(
          section.contents, uint64_t{i} * sizeof(NewFunctionRecord), where);
      bundle_.new_functions.push_back(FunctionSymbol(record, where));
    }
  }

  // Its contents are VerifySignature's business; here only its shape.
  void CheckSignatureSlot() {
    const SectionEntry* signature = table_.Find(kSignatureSection);
    if (signature == nullptr) return;
    CheckPrivateSection(*signature, 1, 0);
    ExpectField(*signature, "sh_size", signature->header.sh_size, sizeof(SignatureRecord));
    known_.insert(signature->index);
  }

  // Anything not understood is refused: a reader that skipped it could not vouch for the bundle.
  void CheckEverySectionKnown() {
    const SectionEntry& shstrtab = table_.Get(".shstrtab");
    ExpectField(shstrtab, "sh_type", shstrtab.header.sh_type, SHT_STRTAB);
    ExpectField(shstrtab, "sh_flags", shstrtab.header.sh_flags, 0);
    known_.insert({table_.Get(kHeaderSection).index, table_.Get(kStringsSection).index,
                   table_.Get(kChecksumSection).index, shstrtab.index});
    for (const SectionEntry& section : table_.sections()) {
      if (!known_.contains(section.index)) {
        throw BadBundle(Label(section) + ": unknown section");
      }
    }
  }

  const SectionTable& table_;
  const HeaderRecord& header_;
  StringTable strings_;
  Bundle bundle_;
  uint32_t symtab_index_ = 0;
  std::set<uint32_t> known_;
};

}  // namespace

Bundle ReadBundle(std::span<const uint8_t> bytes) {
  const SectionTable table(bytes);
  const HeaderRecord header = ReadHeader(table);
  CheckChecksum(bytes);
  Bundle bundle = BundleFileReader(table, header).Read();
  ValidateBundle(bundle);
  return bundle;
}

}  // namespace hotpatch::bundle
