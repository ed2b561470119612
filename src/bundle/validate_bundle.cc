// The rules of the bundle model that do not depend on the file layout. The writer checks them so
// that it never produces a bundle the reader refuses; the reader checks them after decoding.
#include <algorithm>
#include <bit>
#include <set>

#include "base/hex.h"
#include "bundle/bounded_bytes.h"
#include "bundle/bundle.h"
#include "bundle/carried_eh_frame.h"
#include "bundle/on_disk_records.h"
#include "bundle/relocation_types.h"

namespace hotpatch::bundle {
namespace {

constexpr size_t kMaxPatchIdSize = 128;
constexpr uint64_t kAllowedSectionFlags = SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR;

std::string SectionLabel(const Bundle& bundle, size_t index) {
  return "section " + std::to_string(index + 1) + " '" + bundle.sections[index].name + "'";
}

std::string SymbolLabel(const Bundle& bundle, size_t index) {
  return ".symtab entry " + std::to_string(index + 1) + " '" + bundle.symbols[index].name + "'";
}

void CheckNoNul(const std::string& text, const std::string& what) {
  if (text.find('\0') != std::string::npos) throw BadBundle(what + " contains a NUL byte");
}

bool IsPatchIdCharacter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '+' || c == '-';
}

void ValidateHeaderFields(const Bundle& bundle) {
  if (bundle.format_version != kFormatVersion) {
    throw BadBundle("format version " + std::to_string(bundle.format_version) +
                    " is not supported (this reader supports version " +
                    std::to_string(kFormatVersion) + ")");
  }
  if (bundle.patch_id.empty() || bundle.patch_id.size() > kMaxPatchIdSize ||
      !std::all_of(bundle.patch_id.begin(), bundle.patch_id.end(), IsPatchIdCharacter)) {
    throw BadBundle("patch id '" + bundle.patch_id + "' is not 1 to " +
                    std::to_string(kMaxPatchIdSize) + " characters of [A-Za-z0-9._+-]");
  }
  CheckNoNul(bundle.description, "description");
  CheckNoNul(bundle.target_module, "target module");
  if (bundle.target_module.empty() || bundle.target_module.find('/') != std::string::npos) {
    throw BadBundle("target module '" + bundle.target_module + "' is not a file name");
  }
  if (bundle.target_build_id.empty() || bundle.target_build_id.size() > kMaxBuildIdSize) {
    throw BadBundle("target build-id has " + std::to_string(bundle.target_build_id.size()) +
                    " bytes, not 1 to " + std::to_string(kMaxBuildIdSize));
  }
  if (static_cast<uint32_t>(bundle.preferred_placement) >
      static_cast<uint32_t>(Placement::kMapping)) {
    throw BadBundle("preferred placement " +
                    std::to_string(static_cast<uint32_t>(bundle.preferred_placement)) +
                    " is not a placement (0 to 3)");
  }
}

bool IsReservedSectionName(const std::string& name) {
  return name.starts_with(kPrivateSectionPrefix) || name.starts_with(".rela") ||
         name == ".symtab" || name == ".strtab" || name == ".shstrtab";
}

void ValidateSections(const Bundle& bundle) {
  std::set<std::string> names;
  for (size_t i = 0; i < bundle.sections.size(); ++i) {
    const BundleSection& section = bundle.sections[i];
    const std::string label = SectionLabel(bundle, i);
    CheckNoNul(section.name, label + ": name");
    if (section.name.empty() || IsReservedSectionName(section.name)) {
      throw BadBundle(label + ": name is empty or reserved for the bundle's own sections");
    }
    if (!names.insert(section.name).second) throw BadBundle(label + ": duplicate name");
    if (section.type != SHT_PROGBITS && section.type != SHT_NOBITS) {
      throw BadBundle(label + ": type " + std::to_string(section.type) +
                      " is neither SHT_PROGBITS nor SHT_NOBITS");
    }
    if ((section.flags & SHF_ALLOC) == 0 || (section.flags & ~kAllowedSectionFlags) != 0) {
      throw BadBundle(label + ": flags " + Hex(section.flags) +
                      " are not SHF_ALLOC with optional SHF_WRITE and SHF_EXECINSTR");
    }
    if (section.alignment == 0 || section.alignment > kMaxSectionAlignment ||
        !std::has_single_bit(section.alignment)) {
      throw BadBundle(label + ": alignment " + std::to_string(section.alignment) +
                      " is not a power of two from 1 to " + std::to_string(kMaxSectionAlignment));
    }
    if (section.type == SHT_PROGBITS && section.nobits_size != 0) {
      throw BadBundle(label + ": SHT_PROGBITS section with a nobits size");
    }
    if (section.type == SHT_NOBITS && !section.bytes.empty()) {
      throw BadBundle(label + ": SHT_NOBITS section with contents");
    }
    if (section.type == SHT_NOBITS && !section.relocations.empty()) {
      throw BadBundle(label + ": SHT_NOBITS section with relocations");
    }
    for (size_t r = 0; r < section.relocations.size(); ++r) {
      const BundleRelocation& rela = section.relocations[r];
      const std::string where = label + " relocation " + std::to_string(r);
      const auto width = RelocationFieldSize(rela.type);
      if (!width) {
        throw BadBundle(where + ": type " + std::to_string(rela.type) +
                        " is not an x86-64 relocation type for object files");
      }
      if (!RangeFits(rela.offset, *width, section.size())) {
        throw BadBundle(where + ": offset " + Hex(rela.offset) + " + " + std::to_string(*width) +
                        " bytes beyond the section (" + std::to_string(section.size()) + " bytes)");
      }
      if (rela.symbol >= bundle.symbols.size()) {
        throw BadBundle(where + ": symbol " + std::to_string(rela.symbol) + " beyond " +
                        std::to_string(bundle.symbols.size()) + " symbols");
      }
    }
  }
}

void ValidateSymbols(const Bundle& bundle) {
  bool seen_global = false;
  for (size_t i = 0; i < bundle.symbols.size(); ++i) {
    const BundleSymbol& symbol = bundle.symbols[i];
    const std::string label = SymbolLabel(bundle, i);
    CheckNoNul(symbol.name, label + ": name");
    if (symbol.binding != STB_LOCAL && symbol.binding != STB_GLOBAL && symbol.binding != STB_WEAK) {
      throw BadBundle(label + ": binding " + std::to_string(symbol.binding) + " is not allowed");
    }
    // ELF gABI: in a symbol table all local symbols precede the others (sh_info counts them).
    if (symbol.binding == STB_LOCAL && seen_global) {
      throw BadBundle(label + ": a local symbol after a global or weak one");
    }
    seen_global = seen_global || symbol.binding != STB_LOCAL;
    if (symbol.type != STT_NOTYPE && symbol.type != STT_OBJECT && symbol.type != STT_FUNC &&
        symbol.type != STT_SECTION && symbol.type != STT_TLS) {
      throw BadBundle(label + ": type " + std::to_string(symbol.type) + " is not allowed");
    }
    if (symbol.thread_local_symbol != (symbol.type == STT_TLS)) {
      throw BadBundle(label + ": thread-local flag disagrees with its type");
    }
    switch (symbol.kind) {
      case SymbolKind::kDefined: {
        if (symbol.section >= bundle.sections.size()) {
          throw BadBundle(label + ": section " + std::to_string(symbol.section) + " beyond " +
                          std::to_string(bundle.sections.size()) + " sections");
        }
        // A running process cannot grow its TLS blocks, so a patch cannot define TLS.
        if (symbol.thread_local_symbol) {
          throw BadBundle(label + ": a bundle cannot define a thread-local symbol");
        }
        const uint64_t section_size = bundle.sections[symbol.section].size();
        if (!RangeFits(symbol.value, symbol.size, section_size)) {
          throw BadBundle(label + ": value " + Hex(symbol.value) + " + size " +
                          std::to_string(symbol.size) + " beyond " +
                          SectionLabel(bundle, symbol.section) + " (" +
                          std::to_string(section_size) + " bytes)");
        }
        break;
      }
      case SymbolKind::kTarget:
      case SymbolKind::kExternal:
        if (symbol.name.empty()) throw BadBundle(label + ": an undefined symbol needs a name");
        if (symbol.section != 0) throw BadBundle(label + ": an undefined symbol with a section");
        if (symbol.type == STT_SECTION) {
          throw BadBundle(label + ": an undefined section symbol");
        }
        if (symbol.kind == SymbolKind::kExternal && symbol.value != 0) {
          throw BadBundle(label + ": an external symbol with value " + Hex(symbol.value));
        }
        break;
      default:
        throw BadBundle(label + ": kind " + std::to_string(static_cast<int>(symbol.kind)) +
                        " is not a symbol kind (0 to 2)");
    }
  }
}

// Replacement and new functions are code the engine jumps to.
void CheckIsDefinedFunction(const Bundle& bundle, uint32_t index, const std::string& what) {
  if (index >= bundle.symbols.size()) {
    throw BadBundle(what + ": symbol " + std::to_string(index) + " beyond " +
                    std::to_string(bundle.symbols.size()) + " symbols");
  }
  const BundleSymbol& symbol = bundle.symbols[index];
  if (symbol.kind != SymbolKind::kDefined || symbol.type != STT_FUNC ||
      (bundle.sections[symbol.section].flags & SHF_EXECINSTR) == 0) {
    throw BadBundle(what + ": " + SymbolLabel(bundle, index) +
                    " is not a function defined in an executable section of the bundle");
  }
}

void ValidateFunctions(const Bundle& bundle) {
  std::vector<std::pair<uint64_t, size_t>> starts;
  std::set<uint32_t> code_symbols;
  for (size_t i = 0; i < bundle.replaced.size(); ++i) {
    const ReplacedFunction& function = bundle.replaced[i];
    const std::string label = "replaced function " + std::to_string(i) + " '" + function.name + "'";
    CheckNoNul(function.name, label + ": name");
    CheckNoNul(function.source_file, label + ": source file");
    if (function.name.empty()) throw BadBundle(label + ": empty name");
    if (function.target_size == 0 ||
        !RangeFits(function.target_offset, function.target_size, UINT64_MAX)) {
      throw BadBundle(label + ": target range " + Hex(function.target_offset) + " size " +
                      std::to_string(function.target_size) + " is empty or wraps");
    }
    CheckIsDefinedFunction(bundle, function.replacement_symbol, label);
    if (!code_symbols.insert(function.replacement_symbol).second) {
      throw BadBundle(label + ": its replacement also replaces another function");
    }
    starts.emplace_back(function.target_offset, i);
  }
  std::sort(starts.begin(), starts.end());
  for (size_t k = 1; k < starts.size(); ++k) {
    const ReplacedFunction& previous = bundle.replaced[starts[k - 1].second];
    if (starts[k].first < previous.target_offset + previous.target_size) {
      throw BadBundle("replaced function '" + bundle.replaced[starts[k].second].name +
                      "' overlaps replaced function '" + previous.name + "' in the target");
    }
  }
  for (size_t i = 0; i < bundle.new_functions.size(); ++i) {
    const std::string label = "new function " + std::to_string(i);
    CheckIsDefinedFunction(bundle, bundle.new_functions[i], label);
    if (!code_symbols.insert(bundle.new_functions[i]).second) {
      throw BadBundle(label + ": " + SymbolLabel(bundle, bundle.new_functions[i]) +
                      " is listed twice or also replaces a function");
    }
  }
}

// The section named .eh_frame is the patch code's call frame information, read by the engine:
// it must keep to the carried subset (bundle/carried_eh_frame.h). Names are unique, so there is
// at most one. Runs after ValidateSymbols: its relocation rule looks at the symbols' sections.
void ValidateCallFrames(const Bundle& bundle) {
  for (size_t i = 0; i < bundle.sections.size(); ++i) {
    if (bundle.sections[i].name == kEhFrameSectionName) CheckCarriedEhFrame(bundle, i);
  }
}

}  // namespace

void ValidateBundle(const Bundle& bundle) {
  ValidateHeaderFields(bundle);
  ValidateSections(bundle);
  ValidateSymbols(bundle);
  ValidateCallFrames(bundle);
  ValidateFunctions(bundle);
}

const char* PlacementName(Placement placement) {
  switch (placement) {
    case Placement::kAuto:
      return "auto";
    case Placement::kReserved:
      return "reserved";
    case Placement::kDeadCode:
      return "dead";
    case Placement::kMapping:
      return "mapping";
  }
  return "unknown";
}

}  // namespace hotpatch::bundle
