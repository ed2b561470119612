#include "reference_targets.h"

#include <elf.h>

#include "base/error.h"
#include "base/hex.h"
#include "symbol_names.h"

namespace hotpatch::patchgen {
namespace {

bool IsPcRelative(uint32_t type) {
  return type == R_X86_64_PC32 || type == R_X86_64_PLT32 || type == R_X86_64_GOTPCREL ||
         type == R_X86_64_GOTPCRELX || type == R_X86_64_REX_GOTPCRELX || type == R_X86_64_PC64;
}

const elf::Symbol& SymbolOf(const ObjectFile& object, const elf::Relocation& relocation) {
  const auto& symbols = object.elf.symbols();
  if (relocation.symbol_index >= symbols.size()) {
    throw Error(ErrorCode::kBadRequest,
                object.path + ": relocation at " + Hex(relocation.offset) + " names symbol " +
                    std::to_string(relocation.symbol_index) + " beyond the symbol table");
  }
  return symbols[relocation.symbol_index];
}

// The place inside the referenced section a pc-relative field points at: r_addend is
// "target - 4" when the 32-bit field ends the instruction, which it does for the loads and lea
// that reference literals.
int64_t ReferencedOffset(const elf::Relocation& relocation) {
  return relocation.addend + (IsPcRelative(relocation.type) ? 4 : 0);
}

std::string StringLiteralAt(const ObjectFile& object, const elf::Section& section, int64_t offset) {
  const auto bytes = object.elf.SectionData(section);
  if (offset < 0 || static_cast<uint64_t>(offset) >= bytes.size()) return "<outside>";
  size_t start = static_cast<size_t>(offset);
  while (start > 0 && bytes[start - 1] != 0) --start;
  size_t end = static_cast<size_t>(offset);
  while (end < bytes.size() && bytes[end] != 0) ++end;
  return "\"" + std::string(bytes.begin() + start, bytes.begin() + end) + "\"+" +
         std::to_string(static_cast<size_t>(offset) - start);
}

std::string ConstantAt(const ObjectFile& object, const elf::Section& section, int64_t offset) {
  const auto bytes = object.elf.SectionData(section);
  const uint64_t entry = section.entry_size;
  if (offset < 0 || entry == 0 || static_cast<uint64_t>(offset) >= bytes.size()) return "<outside>";
  const uint64_t start = static_cast<uint64_t>(offset) / entry * entry;
  const uint64_t end = std::min<uint64_t>(start + entry, bytes.size());
  return HexDigits(bytes.subspan(start, end - start)) + "+" +
         std::to_string(static_cast<uint64_t>(offset) - start);
}

bool IsMergeable(const elf::Section& section) {
  return (section.flags & SHF_MERGE) != 0;
}

bool IsFunctionSymbol(const elf::Symbol& symbol) {
  return symbol.type == STT_FUNC;
}

}  // namespace

bool IsConstantData(const elf::Section& section) {
  return section.type == SHT_PROGBITS && (section.flags & (SHF_WRITE | SHF_EXECINSTR)) == 0;
}

std::string ContentTag(const ObjectFile& object, const elf::Symbol& symbol) {
  const auto bytes = object.elf.SectionData(object.elf.sections()[symbol.section_index]);
  if (symbol.value + symbol.size > bytes.size()) return "<outside>";
  const std::string_view content(reinterpret_cast<const char*>(bytes.data() + symbol.value),
                                 symbol.size);
  return Hex(std::hash<std::string_view>{}(content));
}

std::string DescribeReference(const ObjectFile& object, const elf::Relocation& relocation) {
  const elf::Symbol& symbol = SymbolOf(object, relocation);
  const std::string type = std::to_string(relocation.type) + " ";
  if (symbol.section_index == SHN_UNDEF) {
    return type + "U " + symbol.name + std::to_string(relocation.addend);
  }
  if (symbol.section_index >= SHN_LORESERVE ||
      symbol.section_index >= object.elf.sections().size()) {
    return type + "X " + symbol.name + std::to_string(relocation.addend);
  }
  const elf::Section& section = object.elf.sections()[symbol.section_index];
  const auto owner = object.section_owner.find(symbol.section_index);
  const bool names_entity =
      symbol.type == STT_FUNC || symbol.type == STT_OBJECT || symbol.type == STT_TLS;
  if (!names_entity) {
    // A section symbol, or an assembler label such as .LC3 whose number is the compiler's: the
    // place is section + offset, told by what lies there.
    elf::Relocation at_place = relocation;
    at_place.addend = relocation.addend + static_cast<int64_t>(symbol.value);
    const int64_t place = ReferencedOffset(at_place);
    const std::string skew = " " + std::to_string(at_place.addend - place);
    if (IsMergeable(section) && (section.flags & SHF_STRINGS) != 0) {
      return type + "S " + StringLiteralAt(object, section, place) + skew;
    }
    if (IsMergeable(section)) return type + "C " + ConstantAt(object, section, place) + skew;
    if (owner != object.section_owner.end()) {
      const elf::Symbol& owner_symbol = *owner->second.second;
      const std::string content = !IsFunctionSymbol(owner_symbol) && IsConstantData(section)
                                      ? " #" + ContentTag(object, owner_symbol)
                                      : "";
      return type + "E " + owner->second.first +
             std::to_string(at_place.addend - static_cast<int64_t>(owner_symbol.value)) + content;
    }
    return type + "A " + NormalizeSectionName(section.name) + std::to_string(at_place.addend);
  }
  if (owner != object.section_owner.end()) {
    const std::string content = !IsFunctionSymbol(symbol) && IsConstantData(section)
                                    ? " #" + ContentTag(object, symbol)
                                    : "";
    return type + "E " + owner->second.first + std::to_string(relocation.addend) +
           (owner->second.second != &symbol ? " part" : "") + content;
  }
  return type + "N " + symbol.name + std::to_string(relocation.addend);
}

ReferenceTarget ClassifyReference(const DiffSession& session, const ObjectPair& pair,
                                  const elf::Relocation& relocation) {
  const ObjectFile& object = *pair.patched;
  ReferenceTarget target;
  const elf::Symbol& symbol = SymbolOf(object, relocation);
  target.symbol = &symbol;
  target.addend = relocation.addend;
  if (symbol.section_index == SHN_UNDEF) return target;
  if (symbol.section_index >= SHN_LORESERVE) {
    throw Error(ErrorCode::kUnsupported, object.path + ": relocation at " + Hex(relocation.offset) +
                                             " against " + symbol.name + " in special section " +
                                             Hex(symbol.section_index) + " cannot be carried");
  }
  target.section = symbol.section_index;
  target.kind = ReferenceTarget::Kind::kCarried;
  const auto owner = object.section_owner.find(symbol.section_index);
  if (owner == object.section_owner.end()) return target;  // anonymous: literals, jump tables
  target.entity_key = owner->second.first;
  const ObjectEntity& entity = object.entities.at(target.entity_key);
  if (entity.is_function && session.IsKept(&object, entity.key)) return target;
  if (pair.orig == nullptr) return target;
  const auto original = pair.orig->entities.find(entity.key);
  if (original == pair.orig->entities.end()) return target;  // new function or new data
  // A .cold part is only ever reached from its own function, which is kept when it changed.
  if (owner->second.second != entity.symbol) return target;
  if (!entity.is_function && IsConstantData(object.elf.sections()[entity.symbol->section_index]) &&
      ContentTag(object, *entity.symbol) != ContentTag(*pair.orig, *original->second.symbol)) {
    return target;  // a changed constant: the bundle carries the new copy
  }
  if (entity.is_function) {
    const elf::Symbol& original_symbol = *original->second.symbol;
    const bool local = original_symbol.binding == STB_LOCAL;
    // An original the linker dropped (or one the target does not have): carry the copy.
    if (session.target->FindDefinition(original_symbol.name, local, pair.orig->origin()) ==
        nullptr) {
      return target;
    }
  }
  target.kind = ReferenceTarget::Kind::kOriginal;
  target.original = &original->second;
  // Section symbols and labels (value 0 and their offset) as well as the entity's own symbol:
  // the place is symbol + addend, rebased on the entity's start.
  target.addend = relocation.addend + static_cast<int64_t>(symbol.value) -
                  static_cast<int64_t>(entity.symbol->value);
  return target;
}

}  // namespace hotpatch::patchgen
