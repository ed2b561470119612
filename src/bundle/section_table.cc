#include "bundle/section_table.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <set>

#include "base/hex.h"
#include "bundle/bounded_bytes.h"
#include "bundle/bundle.h"

namespace hotpatch::bundle {
namespace {

void CheckFileHeader(const Elf64_Ehdr& ehdr) {
  if (std::memcmp(ehdr.e_ident, ELFMAG, SELFMAG) != 0) throw BadBundle("not an ELF file");
  auto expect = [](uint64_t actual, uint64_t expected, const char* field) {
    if (actual != expected) {
      throw BadBundle(std::string("ELF header ") + field + " is " + std::to_string(actual) +
                      ", a bundle has " + std::to_string(expected));
    }
  };
  expect(ehdr.e_ident[EI_CLASS], ELFCLASS64, "EI_CLASS");
  expect(ehdr.e_ident[EI_DATA], ELFDATA2LSB, "EI_DATA");
  expect(ehdr.e_ident[EI_VERSION], EV_CURRENT, "EI_VERSION");
  expect(ehdr.e_ident[EI_OSABI], ELFOSABI_SYSV, "EI_OSABI");
  expect(ehdr.e_ident[EI_ABIVERSION], 0, "EI_ABIVERSION");
  for (int i = EI_PAD; i < EI_NIDENT; ++i) expect(ehdr.e_ident[i], 0, "EI_PAD");
  expect(ehdr.e_type, ET_REL, "e_type");
  expect(ehdr.e_machine, EM_X86_64, "e_machine");
  expect(ehdr.e_version, EV_CURRENT, "e_version");
  expect(ehdr.e_entry, 0, "e_entry");
  expect(ehdr.e_phoff, 0, "e_phoff");
  expect(ehdr.e_flags, 0, "e_flags");
  expect(ehdr.e_ehsize, sizeof(Elf64_Ehdr), "e_ehsize");
  expect(ehdr.e_phentsize, 0, "e_phentsize");
  expect(ehdr.e_phnum, 0, "e_phnum");
  expect(ehdr.e_shentsize, sizeof(Elf64_Shdr), "e_shentsize");
  // e_shnum 0 would mean extended numbering (count in section 0's sh_size): never written.
  if (ehdr.e_shnum < 2) {
    throw BadBundle("ELF header e_shnum " + std::to_string(ehdr.e_shnum) + " is too small");
  }
  if (ehdr.e_shstrndx == SHN_UNDEF || ehdr.e_shstrndx >= ehdr.e_shnum) {
    throw BadBundle("ELF header e_shstrndx " + std::to_string(ehdr.e_shstrndx) +
                    " is not a section (e_shnum " + std::to_string(ehdr.e_shnum) + ")");
  }
  if (ehdr.e_shoff % alignof(Elf64_Shdr) != 0) {
    throw BadBundle("ELF header e_shoff " + Hex(ehdr.e_shoff) + " is not 8-byte aligned");
  }
}

bool IsKnownSectionType(uint32_t type) {
  return type == SHT_PROGBITS || type == SHT_NOBITS || type == SHT_RELA || type == SHT_SYMTAB ||
         type == SHT_STRTAB;
}

struct FileRange {
  uint64_t begin;
  uint64_t end;
  std::string what;
};

// Each byte of the file belongs to at most one thing; overlapping contents would let one edit
// change two sections, and let the checksum's zeroed ranges cover bytes that something else reads.
void CheckNoOverlap(std::vector<FileRange> ranges) {
  std::sort(ranges.begin(), ranges.end(),
            [](const FileRange& a, const FileRange& b) { return a.begin < b.begin; });
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i].begin < ranges[i - 1].end) {
      throw BadBundle(ranges[i].what + " at offset " + Hex(ranges[i].begin) + " overlaps " +
                      ranges[i - 1].what + " (ends at " + Hex(ranges[i - 1].end) + ")");
    }
  }
}

}  // namespace

SectionTable::SectionTable(std::span<const uint8_t> file) {
  const auto ehdr = ReadRecord<Elf64_Ehdr>(file, 0, "ELF header");
  CheckFileHeader(ehdr);
  const uint64_t table_size = uint64_t{ehdr.e_shnum} * sizeof(Elf64_Shdr);
  if (!RangeFits(ehdr.e_shoff, table_size, file.size())) {
    throw BadBundle("ELF header e_shoff " + Hex(ehdr.e_shoff) + " + e_shnum " +
                    std::to_string(ehdr.e_shnum) + " * 64 beyond the file (" +
                    std::to_string(file.size()) + " bytes)");
  }
  auto header_at = [&](uint32_t index) {
    return ReadRecord<Elf64_Shdr>(file, ehdr.e_shoff + uint64_t{index} * sizeof(Elf64_Shdr),
                                  "section header " + std::to_string(index));
  };
  const Elf64_Shdr null_header = header_at(0);
  static const Elf64_Shdr kZeroHeader{};
  if (std::memcmp(&null_header, &kZeroHeader, sizeof kZeroHeader) != 0) {
    throw BadBundle("section header 0 is not all zero");
  }

  std::vector<FileRange> ranges = {{0, sizeof(Elf64_Ehdr), "ELF header"},
                                   {ehdr.e_shoff, ehdr.e_shoff + table_size, "section headers"}};
  for (uint32_t index = 1; index < ehdr.e_shnum; ++index) {
    SectionEntry entry;
    entry.index = index;
    entry.header = header_at(index);
    const Elf64_Shdr& sh = entry.header;
    const std::string where = "section header " + std::to_string(index);
    if (!IsKnownSectionType(sh.sh_type)) {
      throw BadBundle(where + ": sh_type " + std::to_string(sh.sh_type) + " is not allowed");
    }
    if (sh.sh_addr != 0) throw BadBundle(where + ": sh_addr " + Hex(sh.sh_addr) + " is not 0");
    if (sh.sh_addralign > kMaxSectionAlignment ||
        (sh.sh_addralign != 0 && !std::has_single_bit(sh.sh_addralign))) {
      throw BadBundle(where + ": sh_addralign " + std::to_string(sh.sh_addralign) +
                      " is not a power of two up to " + std::to_string(kMaxSectionAlignment));
    }
    if (sh.sh_type != SHT_NOBITS) {
      if (!RangeFits(sh.sh_offset, sh.sh_size, file.size())) {
        throw BadBundle(where + ": sh_offset " + Hex(sh.sh_offset) + " + sh_size " +
                        Hex(sh.sh_size) + " beyond the file (" + std::to_string(file.size()) +
                        " bytes)");
      }
      if (sh.sh_addralign > 1 && sh.sh_offset % sh.sh_addralign != 0) {
        throw BadBundle(where + ": sh_offset " + Hex(sh.sh_offset) + " is not aligned to " +
                        std::to_string(sh.sh_addralign));
      }
      entry.contents = file.subspan(sh.sh_offset, sh.sh_size);
      if (sh.sh_size != 0) {
        ranges.push_back({sh.sh_offset, sh.sh_offset + sh.sh_size, where + " contents"});
      }
    }
    sections_.push_back(std::move(entry));
  }
  CheckNoOverlap(std::move(ranges));

  const SectionEntry& names_section = At(ehdr.e_shstrndx);
  if (names_section.header.sh_type != SHT_STRTAB) {
    throw BadBundle("section header " + std::to_string(ehdr.e_shstrndx) +
                    " (e_shstrndx) is not SHT_STRTAB");
  }
  const StringTable names(names_section.contents, "the section name table");
  std::set<std::string> seen;
  for (SectionEntry& entry : sections_) {
    const std::string where = "section header " + std::to_string(entry.index);
    entry.name = names.At(entry.header.sh_name, where + ": sh_name");
    if (entry.name.empty()) throw BadBundle(where + ": empty name");
    if (!seen.insert(entry.name).second) {
      throw BadBundle(where + ": duplicate section name " + entry.name);
    }
  }
}

const SectionEntry* SectionTable::Find(std::string_view name) const {
  for (const SectionEntry& entry : sections_) {
    if (entry.name == name) return &entry;
  }
  return nullptr;
}

const SectionEntry& SectionTable::Get(std::string_view name) const {
  const SectionEntry* entry = Find(name);
  if (entry == nullptr) throw BadBundle("missing section " + std::string(name));
  return *entry;
}

}  // namespace hotpatch::bundle
