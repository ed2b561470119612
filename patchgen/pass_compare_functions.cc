// CompareFunctions: a function changed when its bytes differ outside relocation fields, or when
// a relocation points somewhere else. The second catches the callers of a changed inline
// function (their bytes differ) as well as a call retargeted to another function or a literal
// with new text (same bytes, other relocation target).
#include <elf.h>

#include "diff_passes.h"
#include "line_constants.h"
#include "reference_targets.h"
#include "relocation_fields.h"

namespace hotpatch::patchgen {
namespace {

struct SectionImage {
  std::vector<uint8_t> masked_bytes;
  std::vector<std::string> references;  // "offset: description" per relocation
};

SectionImage ImageOf(const ObjectFile& object, const elf::Symbol& symbol) {
  const elf::Section& section = object.elf.sections()[symbol.section_index];
  const std::vector<elf::Relocation> relocations = SectionRelocations(object.elf, section.index);
  SectionImage image;
  image.masked_bytes = MaskRelocatedBytes(object.elf.SectionData(section), relocations);
  for (const elf::Relocation& relocation : relocations) {
    image.references.push_back(std::to_string(relocation.offset) + ": " +
                               DescribeReference(object, relocation));
  }
  return image;
}

std::vector<const elf::Symbol*> Parts(const ObjectEntity& entity) {
  std::vector<const elf::Symbol*> parts = {entity.symbol};
  parts.insert(parts.end(), entity.cold_parts.begin(), entity.cold_parts.end());
  return parts;
}

const elf::DwarfSummary& DwarfOf(std::optional<elf::DwarfSummary>& cache,
                                 const ObjectFile& object) {
  if (!cache) cache = elf::ReadDwarfSummary(object.path);
  return *cache;
}

// kLineNumbersOnly when only immediates moved, by as many lines as the function's declaration
// moved (DWARF DW_AT_decl_line). Without DWARF the change is kept: better one function too many.
FunctionChange ClassifyByteChange(ObjectPair& pair, const ObjectEntity& original,
                                  const ObjectEntity& patched, const SectionImage& a,
                                  const SectionImage& b) {
  const auto shift = ImmediatesShiftedBy(a.masked_bytes, b.masked_bytes);
  if (!shift) return FunctionChange::kChanged;
  const auto* before = DwarfOf(pair.orig_dwarf, *pair.orig).FindFunction(original.symbol->name);
  const auto* after = DwarfOf(pair.patched_dwarf, *pair.patched).FindFunction(patched.symbol->name);
  // An overloaded key's decl_line may be another overload's.
  if (before == nullptr || after == nullptr || before->overloaded || after->overloaded) {
    return FunctionChange::kChanged;
  }
  const int64_t moved =
      static_cast<int64_t>(after->decl_line) - static_cast<int64_t>(before->decl_line);
  return moved == *shift ? FunctionChange::kLineNumbersOnly : FunctionChange::kChanged;
}

FunctionChange Compare(ObjectPair& pair, const ObjectEntity& original,
                       const ObjectEntity& patched) {
  const auto before = Parts(original);
  const auto after = Parts(patched);
  if (before.size() != after.size()) return FunctionChange::kChanged;
  bool only_immediates = false;
  for (size_t i = 0; i < before.size(); ++i) {
    const SectionImage a = ImageOf(*pair.orig, *before[i]);
    const SectionImage b = ImageOf(*pair.patched, *after[i]);
    if (a.references != b.references) return FunctionChange::kChanged;
    if (a.masked_bytes == b.masked_bytes) continue;
    if (ClassifyByteChange(pair, original, patched, a, b) == FunctionChange::kChanged) {
      return FunctionChange::kChanged;
    }
    only_immediates = true;
  }
  return only_immediates ? FunctionChange::kLineNumbersOnly : FunctionChange::kUnchanged;
}

}  // namespace

void CompareFunctions(DiffSession& session) {
  for (ObjectPair& pair : session.pairs) {
    for (const auto& [key, entity] : pair.patched->entities) {
      if (!entity.is_function) continue;
      const ObjectEntity* original = nullptr;
      if (pair.orig != nullptr) {
        const auto found = pair.orig->entities.find(key);
        if (found != pair.orig->entities.end() && found->second.is_function) {
          original = &found->second;
        }
      }
      const FunctionChange change =
          original == nullptr ? FunctionChange::kNew : Compare(pair, *original, entity);
      pair.function_changes[key] = change;
      if (change == FunctionChange::kLineNumbersOnly) {
        session.notes.push_back(entity.symbol->name +
                                ": only __LINE__ constants moved; not patched");
      }
    }
  }
}

}  // namespace hotpatch::patchgen
