#include "elf_sections.h"

#include <cstring>
#include <fstream>
#include <iterator>

#include "base/error.h"

namespace hotpatch::test {

namespace {

template <typename T>
T ReadStruct(const std::vector<uint8_t>& bytes, uint64_t offset, const std::string& path,
             const char* what) {
  if (offset > bytes.size() || bytes.size() - offset < sizeof(T))
    throw Error(ErrorCode::kInternal,
                path + ": " + what + " at offset " + std::to_string(offset) + " is past the end");
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof value);
  return value;
}

std::string ReadString(const std::vector<uint8_t>& bytes, uint64_t offset) {
  if (offset >= bytes.size()) return {};
  const char* begin = reinterpret_cast<const char*>(bytes.data() + offset);
  return std::string(begin, strnlen(begin, bytes.size() - offset));
}

}  // namespace

ElfSections::ElfSections(const std::string& path) : path_(path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw Error(ErrorCode::kNotFound, "cannot open ELF file " + path);
  bytes_.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());

  auto header = ReadStruct<Elf64_Ehdr>(bytes_, 0, path, "ELF header");
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 || header.e_ident[EI_CLASS] != ELFCLASS64)
    throw Error(ErrorCode::kInternal, path + ": not an ELF64 file (e_ident)");
  if (header.e_shentsize != sizeof(Elf64_Shdr))
    throw Error(ErrorCode::kInternal, path + ": unexpected e_shentsize");

  std::vector<Elf64_Shdr> headers;
  for (size_t i = 0; i < header.e_shnum; ++i)
    headers.push_back(ReadStruct<Elf64_Shdr>(bytes_, header.e_shoff + i * sizeof(Elf64_Shdr), path,
                                             "section header"));
  if (header.e_shstrndx >= headers.size())
    throw Error(ErrorCode::kInternal, path + ": e_shstrndx out of range");
  uint64_t names = headers[header.e_shstrndx].sh_offset;
  for (size_t i = 0; i < headers.size(); ++i)
    sections_.push_back({ReadString(bytes_, names + headers[i].sh_name), headers[i], i});
}

std::optional<ElfSection> ElfSections::Find(const std::string& name) const {
  for (const auto& section : sections_)
    if (section.name == name) return section;
  return std::nullopt;
}

std::vector<uint8_t> ElfSections::Contents(const ElfSection& section) const {
  if (section.header.sh_type == SHT_NOBITS) return {};
  uint64_t offset = section.header.sh_offset, size = section.header.sh_size;
  if (offset > bytes_.size() || bytes_.size() - offset < size)
    throw Error(ErrorCode::kInternal, path_ + ": section " + section.name + " is past the end");
  return std::vector<uint8_t>(bytes_.begin() + offset, bytes_.begin() + offset + size);
}

std::vector<ElfSymbol> ElfSections::Symbols() const {
  auto symtab = Find(".symtab");
  if (!symtab) return {};
  uint64_t strings = sections_.at(symtab->header.sh_link).header.sh_offset;
  std::vector<ElfSymbol> symbols;
  for (uint64_t offset = 0; offset + sizeof(Elf64_Sym) <= symtab->header.sh_size;
       offset += sizeof(Elf64_Sym)) {
    auto entry = ReadStruct<Elf64_Sym>(bytes_, symtab->header.sh_offset + offset, path_, "symbol");
    symbols.push_back({ReadString(bytes_, strings + entry.st_name), entry});
  }
  return symbols;
}

}  // namespace hotpatch::test
