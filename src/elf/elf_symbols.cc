// .symtab / .dynsym: reading, the lookup by name and the lookup by address.
#include <elf.h>

#include <algorithm>
#include <cstring>

#include "elf/elf_error.h"
#include "elf/elf_file.h"

namespace hotpatch::elf {

namespace {

std::string TableField(const Section& table, std::string_view field) {
  return "section [" + std::to_string(table.index) + "] '" + table.name + "' " + std::string(field);
}

}  // namespace

std::vector<Symbol> ElfFile::ReadSymbolTable(const Section& table, bool dynamic) const {
  if (table.entry_size != sizeof(Elf64_Sym)) {
    throw MalformedElf(path_, TableField(table, "sh_entsize " + std::to_string(table.entry_size)));
  }
  auto data = SectionData(table);
  if (data.size() % sizeof(Elf64_Sym) != 0) {
    throw MalformedElf(path_, TableField(table, "sh_size is not a multiple of sh_entsize"));
  }
  // ReadHeaders checked sh_link is a section index; StringAt checks it is a string table.
  const Section& names = sections_[table.link];
  size_t count = data.size() / sizeof(Elf64_Sym);
  std::vector<Symbol> symbols;
  symbols.reserve(count);
  std::string_view current_file;
  for (size_t i = 0; i < count; ++i) {
    Elf64_Sym raw;
    // memcpy: the table's file offset need not be aligned in a malformed file.
    std::memcpy(&raw, data.data() + i * sizeof raw, sizeof raw);
    Symbol symbol;
    symbol.index = static_cast<uint32_t>(i);
    symbol.name =
        StringAt(names, raw.st_name, TableField(table, "symbol " + std::to_string(i) + " st_name"));
    symbol.value = raw.st_value;
    symbol.size = raw.st_size;
    symbol.type = ELF64_ST_TYPE(raw.st_info);
    symbol.binding = ELF64_ST_BIND(raw.st_info);
    symbol.visibility = ELF64_ST_VISIBILITY(raw.st_other);
    symbol.section_index = raw.st_shndx;
    symbol.dynamic = dynamic;
    if (symbol.type == STT_FILE) {
      current_file = StringAt(names, raw.st_name, "STT_FILE st_name");
    } else if (symbol.binding == STB_LOCAL && !dynamic) {
      symbol.source_file = current_file;
    }
    symbols.push_back(std::move(symbol));
  }
  return symbols;
}

void ElfFile::ReadSymbolTables() {
  for (const Section& section : sections_) {
    // A file has at most one of each (gABI); should a malformed one have more, the first wins.
    if (section.type == SHT_SYMTAB && symbols_.empty()) {
      symbols_ = ReadSymbolTable(section, false);
    } else if (section.type == SHT_DYNSYM && dynamic_symbols_.empty()) {
      dynamic_symbols_ = ReadSymbolTable(section, true);
    }
  }
}

void ElfFile::IndexSymbols() {
  for (const auto* table : {&symbols_, &dynamic_symbols_}) {
    for (const Symbol& symbol : *table) {
      if (!symbol.name.empty()) symbols_by_name_.push_back(&symbol);
      if (symbol.type == STT_FUNC && symbol.section_index != SHN_UNDEF && symbol.size > 0) {
        functions_by_address_.push_back(&symbol);
        largest_function_size_ = std::max(largest_function_size_, symbol.size);
      }
    }
  }
  // Stable sorts keep .symtab before .dynsym and index order within a table.
  std::stable_sort(symbols_by_name_.begin(), symbols_by_name_.end(),
                   [](const Symbol* a, const Symbol* b) { return a->name < b->name; });
  std::stable_sort(functions_by_address_.begin(), functions_by_address_.end(),
                   [](const Symbol* a, const Symbol* b) { return a->value < b->value; });
}

std::vector<const Symbol*> ElfFile::FindSymbols(std::string_view name) const {
  struct ByName {
    bool operator()(const Symbol* s, std::string_view n) const { return s->name < n; }
    bool operator()(std::string_view n, const Symbol* s) const { return n < s->name; }
  };
  auto [first, last] =
      std::equal_range(symbols_by_name_.begin(), symbols_by_name_.end(), name, ByName{});
  return std::vector<const Symbol*>(first, last);
}

const Symbol* ElfFile::FunctionContaining(uint64_t vaddr) const {
  // Functions may nest (a symbol inside a larger one) or alias (same range); walk back from the
  // last start <= vaddr until no function can reach vaddr, keeping the innermost match.
  auto it = std::upper_bound(functions_by_address_.begin(), functions_by_address_.end(), vaddr,
                             [](uint64_t address, const Symbol* s) { return address < s->value; });
  const Symbol* best = nullptr;
  while (it != functions_by_address_.begin()) {
    const Symbol* candidate = *--it;
    if (vaddr - candidate->value >= largest_function_size_) break;
    if (vaddr - candidate->value >= candidate->size) continue;
    if (best != nullptr && best->value > candidate->value) break;  // best is further in
    if (best == nullptr || (best->dynamic && !candidate->dynamic)) best = candidate;
  }
  return best;
}

}  // namespace hotpatch::elf
