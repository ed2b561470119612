#include "bundle/from_object.h"

#include <elf.h>
#include <sodium.h>

#include <algorithm>
#include <map>
#include <optional>

#include "base/error.h"
#include "base/hex.h"
#include "bundle/carried_eh_frame.h"
#include "bundle/sodium_init.h"

namespace hotpatch::bundle {
namespace {

constexpr uint64_t kCarriedSectionFlags = SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR;

Error ObjectError(const elf::ElfFile& object, const std::string& what) {
  return Error(ErrorCode::kBadRequest, object.path() + ": " + what);
}

std::string FileName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// Definitions of `name` in the target that code can refer to, one per address: the same symbol
// usually appears in both .symtab and .dynsym.
std::vector<const elf::Symbol*> TargetDefinitions(const elf::ElfFile& target,
                                                  const std::string& name) {
  std::vector<const elf::Symbol*> found;
  for (const elf::Symbol* symbol : target.FindSymbols(name)) {
    if (symbol->section_index == SHN_UNDEF || symbol->section_index == SHN_ABS ||
        symbol->section_index >= SHN_LORESERVE) {
      continue;
    }
    if (symbol->type != STT_FUNC && symbol->type != STT_OBJECT && symbol->type != STT_TLS &&
        symbol->type != STT_NOTYPE) {
      continue;
    }
    const bool same_place = std::any_of(found.begin(), found.end(), [&](const elf::Symbol* seen) {
      return seen->value == symbol->value && seen->type == symbol->type;
    });
    if (!same_place) found.push_back(symbol);
  }
  return found;
}

// Globals win (that is what the static linker bound the name to); a local only when it is the
// only definition, since the object cannot say which file's static it meant.
std::optional<const elf::Symbol*> ChooseTargetDefinition(const elf::ElfFile& target,
                                                         const std::string& name) {
  const std::vector<const elf::Symbol*> found = TargetDefinitions(target, name);
  std::vector<const elf::Symbol*> globals;
  for (const elf::Symbol* symbol : found) {
    if (symbol->binding != STB_LOCAL) globals.push_back(symbol);
  }
  if (globals.size() == 1) return globals.front();
  if (found.empty()) return std::nullopt;
  if (found.size() == 1) return found.front();
  std::string candidates;
  for (const elf::Symbol* symbol : found) {
    candidates += "\n  " + Hex(symbol->value) + " " + name + " (" +
                  (symbol->source_file.empty() ? std::string("global") : symbol->source_file) + ")";
  }
  throw Error(ErrorCode::kMismatch, target.path() + ": symbol " + name +
                                        " is ambiguous: " + std::to_string(found.size()) +
                                        " definitions:" + candidates);
}

class ObjectConverter {
 public:
  ObjectConverter(const elf::ElfFile& object, const elf::ElfFile& target,
                  const FromObjectOptions& options)
      : object_(object), target_(target), options_(options) {}

  Bundle Convert() {
    if (object_.type() != ET_REL || object_.machine() != EM_X86_64) {
      throw ObjectError(object_, "not an x86-64 relocatable object");
    }
    if (!target_.build_id() || target_.build_id()->empty()) {
      throw Error(ErrorCode::kMismatch, target_.path() + ": no GNU build-id to match against");
    }
    bundle_.patch_id = options_.patch_id;
    bundle_.description = options_.description;
    bundle_.target_module =
        options_.target_module.empty() ? FileName(target_.path()) : options_.target_module;
    bundle_.target_build_id = *target_.build_id();
    bundle_.preferred_placement = options_.preferred_placement;
    bundle_.created_unix = options_.created_unix;
    CarrySections();
    CarrySymbols();
    CarryRelocations();
    CarryCallFrames();
    ClassifyFunctions();
    ValidateBundle(bundle_);
    return std::move(bundle_);
  }

 private:
  // Allocated code and data; everything else (.comment, .note.GNU-stack, debug info, groups)
  // stays behind. .eh_frame is not copied whole: CarryCallFrames takes the carried code's records.
  void CarrySections() {
    for (const elf::Section& section : object_.sections()) {
      if ((section.type != SHT_PROGBITS && section.type != SHT_NOBITS) ||
          (section.flags & SHF_ALLOC) == 0 || section.name == ".eh_frame") {
        continue;
      }
      if ((section.flags & SHF_TLS) != 0) {
        if (section.size == 0) continue;
        throw ObjectError(object_, "section " + section.name +
                                       ": a patch cannot add thread-local storage to a running "
                                       "process");
      }
      BundleSection out;
      out.name = section.name;
      out.type = section.type;
      // SHF_MERGE/SHF_STRINGS ask the linker to merge; there is nothing to merge with at apply
      // time, so the bytes are carried as they are.
      out.flags = section.flags & kCarriedSectionFlags;
      out.alignment = std::max<uint64_t>(section.alignment, 1);
      if (section.type == SHT_NOBITS) {
        out.nobits_size = section.size;
      } else {
        const auto bytes = object_.SectionData(section);
        out.bytes.assign(bytes.begin(), bytes.end());
      }
      section_map_[section.index] = static_cast<uint32_t>(bundle_.sections.size());
      bundle_.sections.push_back(std::move(out));
    }
  }

  void CarrySymbols() {
    AddMissingSectionSymbols();
    for (const elf::Symbol& symbol : object_.symbols()) {
      if (symbol.index == 0 || symbol.type == STT_FILE) continue;
      if (symbol.section_index == SHN_COMMON) {
        throw ObjectError(
            object_, "symbol " + symbol.name + " is a common symbol (compile with -fno-common)");
      }
      BundleSymbol out;
      out.name = symbol.name;
      out.type = symbol.type;
      out.binding = symbol.binding;
      out.size = symbol.size;
      if (symbol.section_index == SHN_UNDEF) {
        ResolveUndefined(symbol, out);
      } else {
        const auto carried = section_map_.find(symbol.section_index);
        if (carried == section_map_.end()) continue;  // in a section left behind
        if (symbol.type == STT_SECTION) {
          out.name.clear();
          section_symbol_.try_emplace(symbol.section_index,
                                      static_cast<uint32_t>(bundle_.symbols.size()));
        }
        out.kind = SymbolKind::kDefined;
        out.section = carried->second;
        out.value = symbol.value;
      }
      out.thread_local_symbol = out.type == STT_TLS;
      symbol_map_[symbol.index] = static_cast<uint32_t>(bundle_.symbols.size());
      bundle_.symbols.push_back(std::move(out));
      source_files_.push_back(symbol.source_file);
    }
  }

  // The FDEs of carried code name its section (CarryCallFrames): an executable section the
  // object has no STT_SECTION symbol for (GAS leaves out those no relocation uses) gets one, as a
  // local ahead of the object's symbols (gABI: locals come first).
  void AddMissingSectionSymbols() {
    for (const auto& [object_index, bundle_index] : section_map_) {
      if ((bundle_.sections[bundle_index].flags & SHF_EXECINSTR) == 0) continue;
      const uint32_t wanted = object_index;  // clang 14 cannot capture a structured binding
      const bool has_symbol =
          std::any_of(object_.symbols().begin(), object_.symbols().end(), [&](const auto& symbol) {
            return symbol.type == STT_SECTION && symbol.section_index == wanted;
          });
      if (has_symbol) continue;
      BundleSymbol out;
      out.type = STT_SECTION;
      out.binding = STB_LOCAL;
      out.section = bundle_index;
      section_symbol_[object_index] = static_cast<uint32_t>(bundle_.symbols.size());
      bundle_.symbols.push_back(std::move(out));
      source_files_.emplace_back();
    }
  }

  void ResolveUndefined(const elf::Symbol& symbol, BundleSymbol& out) {
    const auto definition = ChooseTargetDefinition(target_, symbol.name);
    if (!definition) {
      out.kind = SymbolKind::kExternal;
      return;
    }
    out.kind = SymbolKind::kTarget;
    // For a PIE or shared object st_value is the offset from the load bias; for STT_TLS it is the
    // offset in the module's TLS block (gABI), which is what the engine needs either way.
    out.value = (*definition)->value;
    out.size = (*definition)->size;
    out.type = (*definition)->type;
  }

  void CarryRelocations() {
    for (const elf::Section& rela : object_.sections()) {
      if (rela.type != SHT_RELA) continue;
      const auto carried = section_map_.find(rela.info);
      if (carried == section_map_.end()) continue;  // relocates a section left behind
      BundleSection& section = bundle_.sections[carried->second];
      for (const elf::Relocation& relocation : object_.Relocations(rela)) {
        const auto symbol = symbol_map_.find(relocation.symbol_index);
        if (symbol == symbol_map_.end()) {
          throw ObjectError(object_, rela.name + " at " + Hex(relocation.offset) + ": symbol " +
                                         std::to_string(relocation.symbol_index) +
                                         " is not carried into the bundle");
        }
        section.relocations.push_back(
            {relocation.offset, relocation.type, symbol->second, relocation.addend});
      }
    }
  }

  // The compiler's call frame information for the carried code (bundle/carried_eh_frame.h), so
  // that a thread inside it unwinds exactly, frame pointer or not. Added after the carried
  // sections: bundle section i is ELF section i+1, and symbols and relocations already name
  // those by index.
  void CarryCallFrames() {
    BundleSection eh_frame;
    AppendCarriedEhFrame(
        object_, [&](uint32_t index) { return CarriedCodeSymbol(index); }, eh_frame);
    if (FinishCarriedEhFrame(eh_frame)) bundle_.sections.push_back(std::move(eh_frame));
  }

  // The section symbol of an object section carried as code; FDEs describe nothing else.
  std::optional<uint32_t> CarriedCodeSymbol(uint32_t object_section) const {
    const auto carried = section_map_.find(object_section);
    const auto symbol = section_symbol_.find(object_section);
    if (carried == section_map_.end() || symbol == section_symbol_.end()) return std::nullopt;
    if ((bundle_.sections[carried->second].flags & SHF_EXECINSTR) == 0) return std::nullopt;
    return symbol->second;
  }

  void ClassifyFunctions() {
    InitialiseSodium();
    for (uint32_t index = 0; index < bundle_.symbols.size(); ++index) {
      const BundleSymbol& symbol = bundle_.symbols[index];
      if (symbol.kind != SymbolKind::kDefined || symbol.type != STT_FUNC) continue;
      std::vector<const elf::Symbol*> originals = TargetFunctions(symbol.name);
      if (originals.empty()) {
        bundle_.new_functions.push_back(index);
        continue;
      }
      // Two static functions of one name: the object's own source file (its STT_FILE) says which.
      if (originals.size() > 1 && !source_files_[index].empty()) {
        std::erase_if(originals, [&](const elf::Symbol* original) {
          return original->source_file != source_files_[index];
        });
        if (originals.empty()) originals = TargetFunctions(symbol.name);
      }
      if (originals.size() > 1) {
        std::string candidates;
        for (const elf::Symbol* original : originals) {
          candidates +=
              "\n  " + Hex(original->value) + " (" +
              (original->source_file.empty() ? std::string("global") : original->source_file) + ")";
        }
        throw Error(ErrorCode::kMismatch, target_.path() + ": function " + symbol.name +
                                              " to replace is ambiguous:" + candidates);
      }
      bundle_.replaced.push_back(Replacement(*originals.front(), index));
    }
  }

  std::vector<const elf::Symbol*> TargetFunctions(const std::string& name) const {
    std::vector<const elf::Symbol*> functions = TargetDefinitions(target_, name);
    std::erase_if(functions, [](const elf::Symbol* symbol) { return symbol->type != STT_FUNC; });
    return functions;
  }

  ReplacedFunction Replacement(const elf::Symbol& original, uint32_t replacement) const {
    const auto bytes = target_.BytesAtAddress(original.value, original.size);
    if (original.size == 0 || !bytes) {
      throw Error(ErrorCode::kMismatch, target_.path() + ": function " + original.name + " at " +
                                            Hex(original.value) + " has no bytes in the file");
    }
    ReplacedFunction function;
    function.name = original.name;
    function.source_file = original.source_file;
    function.target_offset = original.value;
    function.target_size = original.size;
    function.replacement_symbol = replacement;
    crypto_hash_sha256(function.expected_sha256.data(), bytes->data(), bytes->size());
    return function;
  }

  const elf::ElfFile& object_;
  const elf::ElfFile& target_;
  const FromObjectOptions& options_;
  Bundle bundle_;
  std::map<uint32_t, uint32_t> section_map_;     // object section index -> bundle section
  std::map<uint32_t, uint32_t> symbol_map_;      // object .symtab index -> bundle symbol
  std::map<uint32_t, uint32_t> section_symbol_;  // object section index -> its STT_SECTION symbol
  std::vector<std::string> source_files_;        // per bundle symbol: its STT_FILE in the object
};

}  // namespace

Bundle BundleFromObject(const elf::ElfFile& patch_object, const elf::ElfFile& target,
                        const FromObjectOptions& options) {
  return ObjectConverter(patch_object, target, options).Convert();
}

}  // namespace hotpatch::bundle
