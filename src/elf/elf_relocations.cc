// SHT_RELA sections: the x86-64 psABI uses explicit addends only (Elf64_Rela).
#include <elf.h>

#include <cstring>

#include "elf/elf_error.h"
#include "elf/elf_file.h"

namespace hotpatch::elf {

std::vector<Relocation> ElfFile::Relocations(const Section& rela_section) const {
  std::string where =
      "section [" + std::to_string(rela_section.index) + "] '" + rela_section.name + "'";
  if (rela_section.type == SHT_REL) {
    throw Error(ErrorCode::kUnsupported,
                path_ + ": " + where + " is SHT_REL; x86-64 relocations are SHT_RELA");
  }
  if (rela_section.type != SHT_RELA) {
    throw Error(ErrorCode::kBadRequest, path_ + ": " + where + " is not a SHT_RELA section");
  }
  if (rela_section.entry_size != sizeof(Elf64_Rela)) {
    throw MalformedElf(path_, where + " sh_entsize " + std::to_string(rela_section.entry_size));
  }
  auto data = SectionData(rela_section);
  if (data.size() % sizeof(Elf64_Rela) != 0) {
    throw MalformedElf(path_, where + " sh_size is not a multiple of sh_entsize");
  }
  // sh_link names the symbol table the entries index; 0 (no table) is valid only for relocations
  // that name no symbol, e.g. R_X86_64_RELATIVE in a static PIE.
  size_t symbol_count = 0;
  if (rela_section.link != 0) {
    if (rela_section.link >= sections_.size()) {
      throw MalformedElf(path_, where + " sh_link " + std::to_string(rela_section.link));
    }
    const Section& table = sections_[rela_section.link];
    if ((table.type != SHT_SYMTAB && table.type != SHT_DYNSYM) ||
        table.entry_size != sizeof(Elf64_Sym)) {
      throw MalformedElf(path_, where + " sh_link " + std::to_string(rela_section.link) +
                                    " is not a symbol table");
    }
    symbol_count = table.size / sizeof(Elf64_Sym);
  }

  size_t count = data.size() / sizeof(Elf64_Rela);
  std::vector<Relocation> relocations;
  relocations.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    Elf64_Rela raw;
    std::memcpy(&raw, data.data() + i * sizeof raw, sizeof raw);
    Relocation relocation{raw.r_offset, static_cast<uint32_t>(ELF64_R_TYPE(raw.r_info)),
                          static_cast<uint32_t>(ELF64_R_SYM(raw.r_info)), raw.r_addend};
    if (relocation.symbol_index != 0 && relocation.symbol_index >= symbol_count) {
      throw MalformedElf(path_, where + " entry " + std::to_string(i) + " symbol index " +
                                    std::to_string(relocation.symbol_index) +
                                    " >= " + std::to_string(symbol_count) + " symbols");
    }
    relocations.push_back(relocation);
  }
  return relocations;
}

}  // namespace hotpatch::elf
