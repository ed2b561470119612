// The section headers and symbols of an ELF64 file, parsed with plain <elf.h> structs: the test
// checks the file independently of the engine's own ELF reader.
#pragma once

#include <elf.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hotpatch::test {

struct ElfSection {
  std::string name;
  Elf64_Shdr header;
  size_t index;
};

struct ElfSymbol {
  std::string name;
  Elf64_Sym entry;
};

class ElfSections {
 public:
  // Reads the whole file; throws hotpatch::Error naming the file and the field that is wrong.
  explicit ElfSections(const std::string& path);

  std::optional<ElfSection> Find(const std::string& name) const;
  // The bytes of a PROGBITS section as stored in the file.
  std::vector<uint8_t> Contents(const ElfSection& section) const;
  // Every entry of .symtab (empty for a stripped file).
  std::vector<ElfSymbol> Symbols() const;

 private:
  std::string path_;
  std::vector<uint8_t> bytes_;
  std::vector<ElfSection> sections_;
};

}  // namespace hotpatch::test
