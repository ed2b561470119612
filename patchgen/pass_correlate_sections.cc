// CorrelateSections: index every function and datum of an object by its normalised name, so the
// original and the patched build meet even where GCC numbered clones and statics differently.
#include <elf.h>

#include <set>

#include "diff_passes.h"
#include "relocation_fields.h"
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

// For each section, the keys of the functions whose code refers to it.
std::map<uint32_t, std::set<std::string>> FunctionsReferring(const ObjectFile& object) {
  std::map<uint32_t, std::set<std::string>> referrers;
  for (const elf::Section& section : object.elf.sections()) {
    if ((section.flags & SHF_EXECINSTR) == 0) continue;
    const auto owner = object.section_owner.find(section.index);
    if (owner == object.section_owner.end()) continue;
    for (const elf::Relocation& relocation : SectionRelocations(object.elf, section.index)) {
      if (relocation.symbol_index >= object.elf.symbols().size()) continue;
      const uint32_t target = object.elf.symbols()[relocation.symbol_index].section_index;
      referrers[target].insert(owner->second.first);
    }
  }
  return referrers;
}

// Static locals of one name in several functions (`count` in next_small and next_large) are
// numbered by GCC in an order a fix can change: count.1 may be next_small's in the original and
// next_large's in the patched build. Each is known instead by its name and the functions whose
// code refers to it, its own function (and those it was inlined into): "count@next_small".
// Those that share even that keep their exact names.
void KeyStaticsByReferrers(ObjectFile& object, const std::vector<const elf::Symbol*>& statics) {
  const auto referrers = FunctionsReferring(object);
  std::map<std::string, std::vector<const elf::Symbol*>> by_key;
  for (const elf::Symbol* symbol : statics) {
    const auto found = referrers.find(symbol->section_index);
    std::string key;
    if (found == referrers.end()) {
      key = symbol->name;  // no code refers to it
    } else {
      key = NormalizeSymbolName(symbol->name).key;
      char separator = '@';
      for (const std::string& function : found->second) {
        key.push_back(separator);
        key.append(function);
        separator = ',';
      }
    }
    by_key[key].push_back(symbol);
  }
  for (const auto& [key, symbols] : by_key) {
    for (const elf::Symbol* symbol : symbols) {
      const std::string unique = symbols.size() == 1 ? key : symbol->name;
      ObjectEntity& entity = object.entities[unique];
      entity.key = unique;
      entity.symbol = symbol;
      object.section_owner[symbol->section_index] = {unique, symbol};
    }
  }
}

// "count@bump,ticks" -> {"bump", "ticks"}; nothing for a key without users.
std::set<std::string> UsersInKey(const std::string& key) {
  std::set<std::string> users;
  const size_t at = key.find('@');
  if (at == std::string::npos) return users;
  size_t start = at + 1;
  for (;;) {
    const size_t comma = key.find(',', start);
    users.insert(key.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (comma == std::string::npos) return users;
    start = comma + 1;
  }
}

bool IsUnmatchedStatic(const ObjectEntity& entity, const ObjectFile& other) {
  return !entity.is_function && entity.symbol->binding == STB_LOCAL &&
         entity.key.find('@') != std::string::npos && other.entities.count(entity.key) == 0;
}

// A fix that makes another function use a static (a function that now inlines its owner) changes
// the static's key: count@ticks became count@bump,ticks. An unmatched patched static is taken
// for the one unmatched original static of its name that shares a user with it, when that
// pairing is one to one; it is then keyed as the original. RefuseUnsafeChanges refuses what
// stays unmatched.
void PairStaticsWithChangedUsers(const ObjectFile& orig, ObjectFile& patched) {
  std::vector<std::pair<std::string, std::string>> renames;  // patched key -> original key
  for (const auto& [key, entity] : patched.entities) {
    if (!IsUnmatchedStatic(entity, orig)) continue;
    const auto shares_user = [&](const ObjectEntity& a, const ObjectEntity& b) {
      if (NormalizeSymbolName(a.symbol->name).key != NormalizeSymbolName(b.symbol->name).key)
        return false;
      const auto users = UsersInKey(b.key);
      for (const std::string& user : UsersInKey(a.key)) {
        if (users.count(user)) return true;
      }
      return false;
    };
    std::vector<const ObjectEntity*> candidates;
    for (const auto& [orig_key, original] : orig.entities) {
      if (IsUnmatchedStatic(original, patched) && shares_user(entity, original))
        candidates.push_back(&original);
    }
    if (candidates.size() != 1) continue;
    size_t rivals = 0;  // patched statics the candidate could equally be
    for (const auto& [other_key, other] : patched.entities) {
      if (IsUnmatchedStatic(other, orig) && shares_user(other, *candidates.front())) ++rivals;
    }
    if (rivals == 1) renames.emplace_back(key, candidates.front()->key);
  }
  for (const auto& [from, to] : renames) {
    ObjectEntity entity = patched.entities.at(from);
    patched.entities.erase(from);
    entity.key = to;
    patched.section_owner[entity.symbol->section_index] = {to, entity.symbol};
    patched.entities[to] = entity;
  }
}

void IndexObject(ObjectFile& object) {
  // Two symbols with one key (static locals `count.0` and `count.1` of two functions): neither
  // normalised name is unambiguous. Functions keep their exact names; data is keyed by the
  // functions that use it once every function is indexed.
  std::map<std::string, int> main_symbols_per_key;
  for (const elf::Symbol& symbol : object.elf.symbols()) {
    if (!IsEntitySymbol(object, symbol)) continue;
    const NormalizedName name = NormalizeSymbolName(symbol.name);
    if (!name.is_cold) ++main_symbols_per_key[name.key];
  }
  std::vector<const elf::Symbol*> ambiguous_statics;
  std::vector<std::pair<std::string, const elf::Symbol*>> cold_parts;
  for (const elf::Symbol& symbol : object.elf.symbols()) {
    if (!IsEntitySymbol(object, symbol)) continue;
    const NormalizedName name = NormalizeSymbolName(symbol.name);
    if (name.is_cold) {
      cold_parts.emplace_back(name.key, &symbol);
      continue;
    }
    const bool ambiguous = main_symbols_per_key[name.key] > 1;
    if (ambiguous && symbol.type != STT_FUNC && symbol.binding == STB_LOCAL) {
      ambiguous_statics.push_back(&symbol);
      continue;
    }
    const std::string key = ambiguous ? symbol.name : name.key;
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
  if (!ambiguous_statics.empty()) KeyStaticsByReferrers(object, ambiguous_statics);
}

}  // namespace

void CorrelateSections(DiffSession& session) {
  for (auto& object : session.orig_objects) IndexObject(*object);
  for (auto& object : session.patched_objects) IndexObject(*object);
  for (ObjectPair& pair : session.pairs) {
    if (pair.orig != nullptr) PairStaticsWithChangedUsers(*pair.orig, *pair.patched);
  }
}

}  // namespace hotpatch::patchgen
