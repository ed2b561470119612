// EmitBundle: the carried sections of the patched objects become the bundle's sections; their
// relocations name either a symbol defined in the bundle, a symbol of the target (its offset from
// the load bias; locals found by their source file), or an external symbol the engine resolves
// in the target's libraries at apply time (docs/bundle-format.md). The compiler's call frame
// information for the carried code follows them into one .eh_frame section.
#include <elf.h>
#include <sodium.h>

#include <map>

#include "base/error.h"
#include "base/hex.h"
#include "bundle/carried_eh_frame.h"
#include "bundle/sodium_init.h"
#include "diff_passes.h"
#include "reference_targets.h"
#include "relocation_fields.h"

namespace hotpatch::patchgen {
namespace {

constexpr uint64_t kCarriedSectionFlags = SHF_ALLOC | SHF_WRITE | SHF_EXECINSTR;

std::string FileName(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

class BundleEmitter {
 public:
  explicit BundleEmitter(DiffSession& session) : session_(session), bundle_(session.bundle) {}

  void Emit() {
    const elf::ElfFile& binary = session_.target->binary();
    if (!binary.build_id() || binary.build_id()->empty()) {
      throw Error(ErrorCode::kMismatch, binary.path() + ": no GNU build-id to match against");
    }
    const DiffOptions& options = session_.options;
    bundle_.patch_id = options.patch_id;
    bundle_.description = options.description;
    bundle_.target_module = FileName(binary.path());
    bundle_.target_build_id = *binary.build_id();
    bundle_.preferred_placement = options.preferred_placement;
    bundle_.created_unix = options.created_unix;
    AddSections();
    AddDefinedSymbols();
    AddRelocations();
    AddCallFrames();
    AddFunctions();
    bundle::ValidateBundle(bundle_);
  }

 private:
  using SectionKey = std::pair<const ObjectFile*, uint32_t>;

  void AddSections() {
    std::set<std::string> names;
    for (const SectionKey& key : session_.carried_sections) {
      const elf::Section& section = key.first->elf.sections()[key.second];
      bundle::BundleSection out;
      // Two objects each have a .rodata.str1.1; bundle section names must be unique.
      out.name = section.name;
      for (int n = 2; !names.insert(out.name).second; ++n) {
        out.name = section.name + "." + std::to_string(n);
      }
      out.type = section.type == SHT_NOBITS ? SHT_NOBITS : SHT_PROGBITS;
      out.flags = section.flags & kCarriedSectionFlags;
      out.alignment = std::max<uint64_t>(section.alignment, 1);
      if (out.type == SHT_NOBITS) {
        out.nobits_size = section.size;
      } else {
        const auto bytes = key.first->elf.SectionData(section);
        out.bytes.assign(bytes.begin(), bytes.end());
      }
      const uint32_t index = static_cast<uint32_t>(bundle_.sections.size());
      bundle_.sections.push_back(std::move(out));
      section_index_[key] = index;
      bundle::BundleSymbol symbol;
      symbol.type = STT_SECTION;
      symbol.binding = STB_LOCAL;
      symbol.section = index;
      section_symbol_[key] = AddSymbol(std::move(symbol));
    }
  }

  // Every function and object of a carried section, as a local: relocations that name them
  // (GOT-relative ones need a symbol, not section + offset) and the replaced/new tables use them.
  void AddDefinedSymbols() {
    for (const SectionKey& key : session_.carried_sections) {
      for (const elf::Symbol& symbol : key.first->elf.symbols()) {
        if (symbol.section_index != key.second) continue;
        if (symbol.type != STT_FUNC && symbol.type != STT_OBJECT && symbol.type != STT_NOTYPE)
          continue;
        if (symbol.name.empty()) continue;
        bundle::BundleSymbol out;
        out.name = symbol.name;
        out.type = symbol.type;
        out.binding = STB_LOCAL;
        out.section = section_index_.at(key);
        out.value = symbol.value;
        out.size = symbol.size;
        const uint32_t index = AddSymbol(std::move(out));
        defined_symbol_[{key.first, symbol.index}] = index;
        if (symbol.binding != STB_LOCAL) global_definition_[symbol.name] = index;
      }
    }
  }

  void AddRelocations() {
    for (const SectionKey& key : session_.carried_sections) {
      const ObjectPair& pair = PairOf(key.first);
      bundle::BundleSection& section = bundle_.sections[section_index_.at(key)];
      for (const elf::Relocation& relocation : SectionRelocations(key.first->elf, key.second)) {
        const ReferenceTarget target = ClassifyReference(session_, pair, relocation);
        bundle::BundleRelocation out;
        out.offset = relocation.offset;
        out.type = relocation.type;
        out.addend = target.addend;
        switch (target.kind) {
          case ReferenceTarget::Kind::kCarried:
            out.symbol = CarriedSymbol(key.first, target);
            break;
          case ReferenceTarget::Kind::kOriginal:
            out.symbol = OriginalSymbol(pair, *target.original);
            break;
          case ReferenceTarget::Kind::kUndefined:
            out.symbol = UndefinedSymbol(*target.symbol);
            break;
        }
        section.relocations.push_back(out);
      }
    }
  }

  // The .eh_frame records of the carried code of every patched object, in one section
  // (bundle/carried_eh_frame.h): a thread stopped inside patch code built without frame pointers
  // then unwinds exactly. Pushed after the carried sections, whose indices symbols and
  // relocations already use. FDEs that cannot be rewritten into the carried subset (a signal
  // frame, another augmentation or FDE pointer encoding) stay behind, with a note.
  void AddCallFrames() {
    bundle::BundleSection eh_frame;
    size_t skipped = 0;
    for (const ObjectPair& pair : session_.pairs) {
      const ObjectFile* object = pair.patched;
      const auto carried = [&](uint32_t index) -> std::optional<uint32_t> {
        const auto symbol = section_symbol_.find({object, index});
        if (symbol == section_symbol_.end()) return std::nullopt;
        if ((object->elf.sections()[index].flags & SHF_EXECINSTR) == 0) return std::nullopt;
        return symbol->second;
      };
      skipped += bundle::AppendCarriedEhFrame(object->elf, carried, eh_frame).fdes_skipped;
    }
    if (skipped != 0) {
      session_.notes.push_back(
          std::to_string(skipped) +
          " function part(s) carried without call frame information (their CIE marks a signal "
          "frame or has an augmentation or FDE pointer encoding the engine does not read): the "
          "engine unwinds them by the frame-pointer rule, exact only with "
          "-fno-omit-frame-pointer");
    }
    if (bundle::FinishCarriedEhFrame(eh_frame)) bundle_.sections.push_back(std::move(eh_frame));
  }

  uint32_t CarriedSymbol(const ObjectFile* object, const ReferenceTarget& target) {
    if (target.symbol->type == STT_SECTION) return section_symbol_.at({object, target.section});
    const auto found = defined_symbol_.find({object, target.symbol->index});
    if (found == defined_symbol_.end()) {
      throw Error(ErrorCode::kInternal, object->path + ": symbol " + target.symbol->name +
                                            " of a carried section was not carried");
    }
    return found->second;
  }

  uint32_t OriginalSymbol(const ObjectPair& pair, const ObjectEntity& original) {
    const bool local = original.symbol->binding == STB_LOCAL;
    const elf::Symbol* definition =
        session_.target->FindDefinition(original.symbol->name, local, pair.orig->origin());
    if (definition == nullptr) {
      throw Error(ErrorCode::kMismatch,
                  session_.target->path() + " has no " + (local ? "local " : "") + "symbol " +
                      original.symbol->name + " (from " + pair.orig->source_file +
                      ") that the patched code uses: was it built from these objects?");
    }
    return TargetSymbol(*definition);
  }

  uint32_t UndefinedSymbol(const elf::Symbol& symbol) {
    // A global a patched object defines anew (another object's function or variable).
    const auto bundled = global_definition_.find(symbol.name);
    if (bundled != global_definition_.end()) return bundled->second;
    if (const elf::Symbol* definition = session_.target->FindDefinition(symbol.name, false)) {
      return TargetSymbol(*definition);
    }
    const auto known = external_.find(symbol.name);
    if (known != external_.end()) return known->second;
    bundle::BundleSymbol out;
    out.name = symbol.name;
    out.kind = bundle::SymbolKind::kExternal;
    out.type = symbol.type == STT_TLS ? STT_TLS : STT_NOTYPE;
    out.thread_local_symbol = out.type == STT_TLS;
    out.binding = symbol.binding == STB_WEAK ? STB_WEAK : STB_GLOBAL;
    return external_[symbol.name] = AddSymbol(std::move(out));
  }

  uint32_t TargetSymbol(const elf::Symbol& definition) {
    const auto known = target_.find(&definition);
    if (known != target_.end()) return known->second;
    bundle::BundleSymbol out;
    out.name = definition.name;
    out.kind = bundle::SymbolKind::kTarget;
    // st_value of a PIE or shared object is the offset from the load bias; for STT_TLS it is the
    // offset in the module's TLS block (gABI), which is what the engine needs either way.
    out.type = definition.type;
    out.thread_local_symbol = definition.type == STT_TLS;
    out.binding = STB_GLOBAL;
    out.value = definition.value;
    out.size = definition.size;
    return target_[&definition] = AddSymbol(std::move(out));
  }

  void AddFunctions() {
    bundle::InitialiseSodium();
    for (const KeptFunction& function : session_.kept) {
      const ObjectFile* object = function.pair->patched;
      const ObjectEntity& entity = object->entities.at(function.key);
      const uint32_t symbol = defined_symbol_.at({object, entity.symbol->index});
      if (!function.replaces_original) {
        bundle_.new_functions.push_back(symbol);
        continue;
      }
      const elf::Symbol& original = *function.target_symbol;
      const auto bytes = session_.target->binary().BytesAtAddress(original.value, original.size);
      bundle::ReplacedFunction replaced;
      replaced.name = original.name;
      replaced.source_file = original.binding == STB_LOCAL ? original.source_file : "";
      replaced.target_offset = original.value;
      replaced.target_size = original.size;
      replaced.replacement_symbol = symbol;
      crypto_hash_sha256(replaced.expected_sha256.data(), bytes->data(), bytes->size());
      bundle_.replaced.push_back(std::move(replaced));
    }
  }

  const ObjectPair& PairOf(const ObjectFile* patched) const {
    for (const ObjectPair& pair : session_.pairs) {
      if (pair.patched == patched) return pair;
    }
    throw Error(ErrorCode::kInternal, patched->path + ": not a patched object");
  }

  uint32_t AddSymbol(bundle::BundleSymbol symbol) {
    bundle_.symbols.push_back(std::move(symbol));
    return static_cast<uint32_t>(bundle_.symbols.size() - 1);
  }

  DiffSession& session_;
  bundle::Bundle& bundle_;
  std::map<SectionKey, uint32_t> section_index_;
  std::map<SectionKey, uint32_t> section_symbol_;
  std::map<std::pair<const ObjectFile*, uint32_t>, uint32_t> defined_symbol_;
  std::map<std::string, uint32_t> global_definition_;
  std::map<std::string, uint32_t> external_;
  std::map<const elf::Symbol*, uint32_t> target_;
};

}  // namespace

void EmitBundle(DiffSession& session) {
  BundleEmitter(session).Emit();
}

}  // namespace hotpatch::patchgen
