// The ELF skeleton of a bundle: file header and section headers, checked against the file's size.
// Reading, checksumming and signing all start here, so a bundle whose skeleton is broken is
// refused before any of its contents are looked at.
#pragma once

#include <elf.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace hotpatch::bundle {

struct SectionEntry {
  uint32_t index = 0;  // ELF section index
  std::string name;
  Elf64_Shdr header{};
  std::span<const uint8_t> contents;  // empty for SHT_NOBITS
};

class SectionTable {
 public:
  // Checks the ELF header (ELFCLASS64, little-endian, ET_REL, EM_X86_64, no program headers), that
  // the section header table and every section's contents lie inside `file` without overlapping
  // each other, that each section is aligned as it says, and that names are unique. Throws
  // Error(kBadBundle) naming the field.
  explicit SectionTable(std::span<const uint8_t> file);

  // Every section but the null entry 0, in index order.
  const std::vector<SectionEntry>& sections() const { return sections_; }
  size_t section_count() const { return sections_.size() + 1; }  // e_shnum
  const SectionEntry* Find(std::string_view name) const;
  // Throws "bundle: missing section <name>".
  const SectionEntry& Get(std::string_view name) const;
  // Section with ELF index `index` (1 <= index < section_count()).
  const SectionEntry& At(uint32_t index) const { return sections_.at(index - 1); }

 private:
  std::vector<SectionEntry> sections_;
};

}  // namespace hotpatch::bundle
