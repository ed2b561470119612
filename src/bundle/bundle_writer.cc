#include "bundle/bundle_writer.h"

#include <elf.h>

#include <algorithm>
#include <cstring>
#include <string>

#include "bundle/bounded_bytes.h"
#include "bundle/checksum.h"
#include "bundle/on_disk_records.h"
#include "bundle/section_table.h"
#include "bundle/string_table_builder.h"

namespace hotpatch::bundle {
namespace {

struct OutputSection {
  std::string name;
  Elf64_Shdr header{};
  std::vector<uint8_t> contents;  // empty for SHT_NOBITS
};

template <typename T>
void AppendRecord(std::vector<uint8_t>& bytes, const T& record) {
  const auto* begin = reinterpret_cast<const uint8_t*>(&record);
  bytes.insert(bytes.end(), begin, begin + sizeof(T));
}

OutputSection PrivateSection(std::string_view name, std::vector<uint8_t> contents,
                             uint64_t alignment, uint64_t entry_size) {
  OutputSection section;
  section.name = name;
  section.header.sh_type = SHT_PROGBITS;
  section.header.sh_addralign = alignment;
  section.header.sh_entsize = entry_size;
  section.contents = std::move(contents);
  return section;
}

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return alignment <= 1 ? value : (value + alignment - 1) / alignment * alignment;
}

class BundleFileWriter {
 public:
  explicit BundleFileWriter(const Bundle& bundle) : bundle_(bundle) {}

  std::vector<uint8_t> Write(bool with_signature_slot) {
    ValidateBundle(bundle_);
    AddBundleSections();
    AddRelocationSections();
    AddSymbolTable();
    AddPrivateSections(with_signature_slot);
    return Serialise();
  }

 private:
  void AddBundleSections() {
    for (const BundleSection& section : bundle_.sections) {
      OutputSection out;
      out.name = section.name;
      out.header.sh_type = section.type;
      out.header.sh_flags = section.flags;
      out.header.sh_addralign = section.alignment;
      out.header.sh_size = section.size();
      out.contents = section.bytes;
      sections_.push_back(std::move(out));
    }
  }

  uint32_t SymbolTableIndex() const {
    const auto with_relocations =
        std::count_if(bundle_.sections.begin(), bundle_.sections.end(),
                      [](const BundleSection& s) { return !s.relocations.empty(); });
    return static_cast<uint32_t>(1 + bundle_.sections.size() + with_relocations);
  }

  void AddRelocationSections() {
    for (size_t i = 0; i < bundle_.sections.size(); ++i) {
      const BundleSection& section = bundle_.sections[i];
      if (section.relocations.empty()) continue;
      OutputSection out;
      out.name = ".rela" + section.name;
      out.header.sh_type = SHT_RELA;
      // SHF_INFO_LINK: sh_info holds a section index (gABI), as GCC's .rela sections say.
      out.header.sh_flags = SHF_INFO_LINK;
      out.header.sh_link = SymbolTableIndex();
      out.header.sh_info = static_cast<uint32_t>(i + 1);
      out.header.sh_addralign = 8;
      out.header.sh_entsize = sizeof(Elf64_Rela);
      for (const BundleRelocation& relocation : section.relocations) {
        Elf64_Rela rela{};
        rela.r_offset = relocation.offset;
        rela.r_info = ELF64_R_INFO(uint64_t{relocation.symbol} + 1, relocation.type);
        rela.r_addend = relocation.addend;
        AppendRecord(out.contents, rela);
      }
      sections_.push_back(std::move(out));
    }
  }

  void AddSymbolTable() {
    StringTableBuilder names;
    OutputSection symtab;
    symtab.name = ".symtab";
    symtab.header.sh_type = SHT_SYMTAB;
    symtab.header.sh_link = SymbolTableIndex() + 1;  // .strtab follows
    symtab.header.sh_addralign = 8;
    symtab.header.sh_entsize = sizeof(Elf64_Sym);
    AppendRecord(symtab.contents, Elf64_Sym{});
    uint32_t locals = 1;  // the null entry counts as local
    for (const BundleSymbol& symbol : bundle_.symbols) {
      Elf64_Sym sym{};
      sym.st_name = names.Add(symbol.name);
      sym.st_info = ELF64_ST_INFO(symbol.binding, symbol.type);
      sym.st_size = symbol.size;
      // Target and external symbols are undefined to ELF tools; .hotpatch.symbols says which.
      if (symbol.kind == SymbolKind::kDefined) {
        sym.st_shndx = static_cast<uint16_t>(symbol.section + 1);
        sym.st_value = symbol.value;
      }
      if (symbol.binding == STB_LOCAL) ++locals;
      AppendRecord(symtab.contents, sym);
    }
    symtab.header.sh_info = locals;  // gABI: one greater than the last local symbol's index
    sections_.push_back(std::move(symtab));

    OutputSection strtab;
    strtab.name = ".strtab";
    strtab.header.sh_type = SHT_STRTAB;
    strtab.header.sh_addralign = 1;
    strtab.contents = names.bytes();
    sections_.push_back(std::move(strtab));
  }

  void AddPrivateSections(bool with_signature_slot) {
    StringTableBuilder strings;
    HeaderRecord header{};
    std::memcpy(header.magic, kHeaderMagic, sizeof header.magic);
    header.format_version = bundle_.format_version;
    header.header_size = sizeof(HeaderRecord);
    header.patch_id = strings.Add(bundle_.patch_id);
    header.description = strings.Add(bundle_.description);
    header.target_module = strings.Add(bundle_.target_module);
    header.preferred_placement = static_cast<uint32_t>(bundle_.preferred_placement);
    header.function_count = static_cast<uint32_t>(bundle_.replaced.size());
    header.new_function_count = static_cast<uint32_t>(bundle_.new_functions.size());
    header.symbol_count = static_cast<uint32_t>(bundle_.symbols.size() + 1);
    header.build_id_size = static_cast<uint32_t>(bundle_.target_build_id.size());
    std::copy(bundle_.target_build_id.begin(), bundle_.target_build_id.end(), header.build_id);
    header.created_unix = bundle_.created_unix;

    std::vector<uint8_t> functions;
    for (const ReplacedFunction& function : bundle_.replaced) {
      FunctionRecord record{};
      record.name = strings.Add(function.name);
      record.source_file = strings.Add(function.source_file);
      record.replacement_symbol = function.replacement_symbol + 1;
      record.target_offset = function.target_offset;
      record.target_size = function.target_size;
      std::copy(function.expected_sha256.begin(), function.expected_sha256.end(),
                record.expected_sha256);
      AppendRecord(functions, record);
    }
    std::vector<uint8_t> new_functions;
    for (uint32_t symbol : bundle_.new_functions) {
      AppendRecord(new_functions, NewFunctionRecord{symbol + 1});
    }
    std::vector<uint8_t> symbols;
    AppendRecord(symbols, SymbolRecord{});
    for (const BundleSymbol& symbol : bundle_.symbols) {
      SymbolRecord record{};
      record.kind = static_cast<uint8_t>(symbol.kind);
      if (symbol.kind == SymbolKind::kTarget) record.target_offset = symbol.value;
      AppendRecord(symbols, record);
    }

    std::vector<uint8_t> header_bytes;
    AppendRecord(header_bytes, header);
    sections_.push_back(PrivateSection(kHeaderSection, std::move(header_bytes), 8, 0));
    sections_.push_back(
        PrivateSection(kFunctionsSection, std::move(functions), 8, sizeof(FunctionRecord)));
    sections_.push_back(PrivateSection(kNewFunctionsSection, std::move(new_functions), 4,
                                       sizeof(NewFunctionRecord)));
    sections_.push_back(
        PrivateSection(kSymbolsSection, std::move(symbols), 8, sizeof(SymbolRecord)));
    sections_.push_back(PrivateSection(kStringsSection, strings.bytes(), 1, 0));
    sections_.push_back(
        PrivateSection(kChecksumSection, std::vector<uint8_t>(kChecksumSize), 1, 0));
    if (with_signature_slot) {
      sections_.push_back(
          PrivateSection(kSignatureSection, std::vector<uint8_t>(sizeof(SignatureRecord)), 1, 0));
    }
  }

  std::vector<uint8_t> Serialise() {
    StringTableBuilder section_names;
    for (OutputSection& section : sections_)
      section.header.sh_name = section_names.Add(section.name);
    OutputSection shstrtab;
    shstrtab.name = ".shstrtab";
    shstrtab.header.sh_name = section_names.Add(shstrtab.name);
    shstrtab.header.sh_type = SHT_STRTAB;
    shstrtab.header.sh_addralign = 1;
    shstrtab.contents = section_names.bytes();
    sections_.push_back(std::move(shstrtab));

    // Contents follow the file header in section order, each at an offset aligned as the section
    // asks (as assemblers do); the section header table comes last.
    uint64_t offset = sizeof(Elf64_Ehdr);
    for (OutputSection& section : sections_) {
      offset = AlignUp(offset, section.header.sh_addralign);
      section.header.sh_offset = offset;
      if (section.header.sh_type != SHT_NOBITS) {
        section.header.sh_size = section.contents.size();
        offset += section.contents.size();
      }
    }
    const uint64_t section_headers = AlignUp(offset, alignof(Elf64_Shdr));
    // Indices from SHN_LORESERVE on are special values in st_shndx (gABI).
    if (sections_.size() + 1 >= SHN_LORESERVE) {
      throw BadBundle("too many sections (" + std::to_string(sections_.size() + 1) + ")");
    }

    Elf64_Ehdr ehdr{};
    std::memcpy(ehdr.e_ident, ELFMAG, SELFMAG);
    ehdr.e_ident[EI_CLASS] = ELFCLASS64;
    ehdr.e_ident[EI_DATA] = ELFDATA2LSB;
    ehdr.e_ident[EI_VERSION] = EV_CURRENT;
    ehdr.e_ident[EI_OSABI] = ELFOSABI_SYSV;
    ehdr.e_type = ET_REL;
    ehdr.e_machine = EM_X86_64;
    ehdr.e_version = EV_CURRENT;
    ehdr.e_shoff = section_headers;
    ehdr.e_ehsize = sizeof(Elf64_Ehdr);
    ehdr.e_shentsize = sizeof(Elf64_Shdr);
    ehdr.e_shnum = static_cast<uint16_t>(sections_.size() + 1);
    ehdr.e_shstrndx = static_cast<uint16_t>(sections_.size());

    std::vector<uint8_t> file(section_headers + ehdr.e_shnum * sizeof(Elf64_Shdr));
    std::memcpy(file.data(), &ehdr, sizeof ehdr);
    uint64_t header_offset = section_headers + sizeof(Elf64_Shdr);  // entry 0 stays zero
    for (const OutputSection& section : sections_) {
      std::copy(section.contents.begin(), section.contents.end(),
                file.begin() + static_cast<std::ptrdiff_t>(section.header.sh_offset));
      std::memcpy(file.data() + header_offset, &section.header, sizeof(Elf64_Shdr));
      header_offset += sizeof(Elf64_Shdr);
    }

    const SectionTable table(file);
    const SectionEntry& checksum = table.Get(kChecksumSection);
    const auto sum = BundleChecksum(file);
    std::copy(sum.begin(), sum.end(),
              file.begin() + static_cast<std::ptrdiff_t>(checksum.header.sh_offset));
    return file;
  }

  const Bundle& bundle_;
  std::vector<OutputSection> sections_;
};

}  // namespace

std::vector<uint8_t> WriteBundleWithSignatureSlot(const Bundle& bundle) {
  return BundleFileWriter(bundle).Write(/*with_signature_slot=*/true);
}

std::vector<uint8_t> WriteBundle(const Bundle& bundle) {
  return BundleFileWriter(bundle).Write(/*with_signature_slot=*/false);
}

}  // namespace hotpatch::bundle
