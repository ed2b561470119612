#include "target_module.h"

#include <elf.h>

#include <filesystem>

#include "base/error.h"
#include "base/hex.h"

namespace hotpatch::patchgen {
namespace {

bool HasSymbolTable(const elf::ElfFile& file) {
  return file.FindSection(".symtab") != nullptr;
}

// gdb's convention for separate debug files (the layout Debian's -dbgsym packages install).
std::optional<std::string> BuildIdDebugFile(const elf::ElfFile& binary) {
  const std::string id = binary.build_id_hex();
  if (id.size() < 3) return std::nullopt;
  std::string path = "/usr/lib/debug/.build-id/" + id.substr(0, 2) + "/" + id.substr(2) + ".debug";
  if (!std::filesystem::exists(path)) return std::nullopt;
  return path;
}

bool IsDefinition(const elf::Symbol& symbol) {
  return symbol.section_index != SHN_UNDEF && symbol.section_index < SHN_LORESERVE &&
         (symbol.type == STT_FUNC || symbol.type == STT_OBJECT || symbol.type == STT_TLS ||
          symbol.type == STT_NOTYPE);
}

}  // namespace

TargetModule::TargetModule(const std::string& binary_path,
                           const std::optional<std::string>& debug_file)
    : binary_(elf::ElfFile::Open(binary_path)) {
  std::optional<std::string> debug_path = debug_file;
  if (!debug_path && !HasSymbolTable(binary_)) debug_path = BuildIdDebugFile(binary_);
  if (debug_path) {
    debug_.emplace(elf::ElfFile::Open(*debug_path));
    if (debug_->build_id() != binary_.build_id()) {
      throw Error(ErrorCode::kMismatch, *debug_path + ": build-id " + debug_->build_id_hex() +
                                            " is not the one of " + binary_path + " (" +
                                            binary_.build_id_hex() + ")");
    }
  }
  if (!HasSymbolTable(symbols_file())) {
    throw Error(ErrorCode::kNotFound,
                binary_path +
                    " is stripped (no .symtab) and no debug file was found: pass "
                    "--debug-file or install it under /usr/lib/debug/.build-id/");
  }
}

std::vector<const elf::Symbol*> TargetModule::InUnit(const std::vector<const elf::Symbol*>& symbols,
                                                     const std::string& unit_name) const {
  if (!unit_ranges_) unit_ranges_ = elf::ReadDwarfUnitRanges(symbols_file().path());
  std::vector<const elf::Symbol*> inside;
  for (const elf::Symbol* symbol : symbols) {
    for (const elf::DwarfUnitRange& range : *unit_ranges_) {
      if (range.unit_name == unit_name && symbol->value >= range.start &&
          symbol->value < range.end) {
        inside.push_back(symbol);
        break;
      }
    }
  }
  return inside;
}

const elf::Symbol* TargetModule::FindDefinition(const std::string& name, bool local,
                                                const LocalOrigin& origin) const {
  const std::string& source_file = origin.source_file;
  std::vector<const elf::Symbol*> candidates;
  for (const elf::Symbol* symbol : symbols_file().FindSymbols(name)) {
    if (!IsDefinition(*symbol) || symbol->dynamic) continue;
    candidates.push_back(symbol);
  }
  std::vector<const elf::Symbol*> matching;
  for (const elf::Symbol* symbol : candidates) {
    // The static linker keeps each input file's locals after that file's STT_FILE symbol, so a
    // local is known by its name and its source file; globals are unique by name.
    const bool symbol_is_local = symbol->binding == STB_LOCAL;
    if (symbol_is_local != local) continue;
    if (local && symbol->source_file != source_file) continue;
    matching.push_back(symbol);
  }
  if (matching.empty()) return nullptr;
  // Two source files of one base name in two directories: their compile units' names differ.
  if (matching.size() > 1 && local && !origin.unit_name.empty()) {
    const auto inside = InUnit(matching, origin.unit_name);
    if (inside.size() == 1) return inside.front();
  }
  if (matching.size() == 1) return matching.front();
  std::string list;
  for (const elf::Symbol* symbol : matching) {
    list += "\n  " + Hex(symbol->value) + " " + symbol->name + " (" +
            (symbol->source_file.empty() ? std::string("global") : symbol->source_file) + ")";
  }
  throw Error(ErrorCode::kMismatch,
              path() + ": symbol " + name + " from " + (source_file.empty() ? "?" : source_file) +
                  (origin.unit_name.empty() ? "" : " (" + origin.unit_name + ")") +
                  " is ambiguous (no DWARF .debug_aranges tells the files apart):" + list);
}

}  // namespace hotpatch::patchgen
