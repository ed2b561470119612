// CorrelateSections: index every function and datum of an object by its normalised name, so the
// original and the patched build meet even where GCC numbered clones and statics differently.
#include <elf.h>

#include "diff_passes.h"
#include "symbol_names.h"

namespace hotpatch::patchgen {
namespace {

bool IsEntitySymbol(const ObjectFile& object, const elf::Symbol& symbol) {
  if (symbol.section_index == SHN_UNDEF || symbol.section_index >= SHN_LORESERVE ||
      symbol.section_index >= object.elf.sections().size()) {
    return false;
  }
  return symbol.type == STT_FUNC || symbol.type == STT_OBJECT || symbol.type == STT_TLS;
}

void IndexObject(ObjectFile& object) {
  // Two symbols with one key (static locals `count.0` and `count.1` of two functions): neither
  // normalised name is unambiguous, so both keep their exact names.
  std::map<std::string, int> main_symbols_per_key;
  for (const elf::Symbol& symbol : object.elf.symbols()) {
    if (!IsEntitySymbol(object, symbol)) continue;
    const NormalizedName name = NormalizeSymbolName(symbol.name);
    if (!name.is_cold) ++main_symbols_per_key[name.key];
  }
  std::vector<std::pair<std::string, const elf::Symbol*>> cold_parts;
  for (const elf::Symbol& symbol : object.elf.symbols()) {
    if (!IsEntitySymbol(object, symbol)) continue;
    const NormalizedName name = NormalizeSymbolName(symbol.name);
    if (name.is_cold) {
      cold_parts.emplace_back(name.key, &symbol);
      continue;
    }
    const std::string key = main_symbols_per_key[name.key] > 1 ? symbol.name : name.key;
    ObjectEntity& entity = object.entities[key];
    entity.key = key;
    entity.symbol = &symbol;
    entity.is_function = symbol.type == STT_FUNC;
    object.section_owner[symbol.section_index] = {key, &symbol};
  }
  for (const auto& [key, symbol] : cold_parts) {
    auto parent = object.entities.find(key);
    if (parent == object.entities.end()) continue;  // cold part of an ambiguous name: anonymous
    parent->second.cold_parts.push_back(symbol);
    object.section_owner[symbol->section_index] = {key, symbol};
  }
}

}  // namespace

void CorrelateSections(DiffSession& session) {
  for (auto& object : session.orig_objects) IndexObject(*object);
  for (auto& object : session.patched_objects) IndexObject(*object);
}

}  // namespace hotpatch::patchgen
