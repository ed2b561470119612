// ClosureOfNeededSymbols: the changed functions, and everything their code reaches that the
// target does not already have: new functions, new data, string literals and other anonymous
// constants, jump tables, .cold parts. What the target has (unchanged functions, existing data,
// static locals of the changed functions) is bound to the target's original instead: there is
// one copy of a variable in a running process, and the patched code must use it.
#include <elf.h>

#include <deque>

#include "base/error.h"
#include "diff_passes.h"
#include "reference_targets.h"
#include "relocation_fields.h"

namespace hotpatch::patchgen {
namespace {

struct PendingSection {
  ObjectPair* pair;
  uint32_t section;
};

// The patched object that defines a global `name` as a new entity (one the original build did
// not have), so an undefined reference from another patched object must reach the bundle's copy.
std::optional<PendingSection> NewGlobalDefinition(DiffSession& session, const std::string& name) {
  for (ObjectPair& pair : session.pairs) {
    for (const auto& [key, entity] : pair.patched->entities) {
      if (entity.symbol->name != name || entity.symbol->binding == STB_LOCAL) continue;
      const bool has_original = pair.orig != nullptr && pair.orig->entities.count(key) != 0;
      if (has_original && !session.IsKept(pair.patched, key)) return std::nullopt;
      return PendingSection{&pair, entity.symbol->section_index};
    }
  }
  return std::nullopt;
}

void KeepFunction(DiffSession& session, ObjectPair& pair, const ObjectEntity& entity, bool changed,
                  std::deque<PendingSection>& pending) {
  if (session.IsKept(pair.patched, entity.key)) return;
  session.kept.push_back({&pair, entity.key, changed, nullptr});
  pending.push_back({&pair, entity.symbol->section_index});
  for (const elf::Symbol* cold : entity.cold_parts) pending.push_back({&pair, cold->section_index});
}

// An inline function from a header or a template instance is a weak global in a COMDAT group of
// every unit that emits it; the target has the one copy the linker kept. When the fix changes
// it, it changed in each of those units, but one copy replaces the target's: the other units'
// kept code reaches it by its global name, through the target's (replaced) function.
bool IsComdatCopyOfKept(const DiffSession& session, const ObjectPair& pair,
                        const ObjectEntity& entity) {
  const elf::Section& section = pair.patched->elf.sections()[entity.symbol->section_index];
  // (A weak function outside a group, __attribute__((weak)) in two units, is one function too.)
  const bool one_of_copies = (section.flags & SHF_GROUP) != 0 || entity.symbol->binding == STB_WEAK;
  if (!one_of_copies || entity.symbol->binding == STB_LOCAL) return false;
  for (const KeptFunction& function : session.kept) {
    const ObjectEntity& kept = function.pair->patched->entities.at(function.key);
    if (function.pair != &pair && kept.symbol->name == entity.symbol->name) return true;
  }
  return false;
}

}  // namespace

void ClosureOfNeededSymbols(DiffSession& session) {
  std::deque<PendingSection> pending;
  for (ObjectPair& pair : session.pairs) {
    for (const auto& [key, change] : pair.function_changes) {
      if (change != FunctionChange::kChanged) continue;
      const ObjectEntity& entity = pair.patched->entities.at(key);
      if (IsComdatCopyOfKept(session, pair, entity)) {
        session.notes.push_back(entity.symbol->name + " (" + pair.patched->name +
                                "): another copy of a COMDAT or weak function kept from another "
                                "unit: replaced once");
        continue;
      }
      KeepFunction(session, pair, entity, true, pending);
    }
  }
  while (!pending.empty()) {
    const PendingSection next = pending.front();
    pending.pop_front();
    if (!session.carried_sections.insert({next.pair->patched, next.section}).second) continue;
    const ObjectFile& object = *next.pair->patched;
    for (const elf::Relocation& relocation : SectionRelocations(object.elf, next.section)) {
      const ReferenceTarget target = ClassifyReference(session, *next.pair, relocation);
      if (target.kind == ReferenceTarget::Kind::kUndefined) {
        if (auto definition = NewGlobalDefinition(session, target.symbol->name)) {
          const auto& owner = definition->pair->patched->section_owner.at(definition->section);
          const ObjectEntity& entity = definition->pair->patched->entities.at(owner.first);
          if (entity.is_function) {
            KeepFunction(session, *definition->pair, entity, false, pending);
          } else {
            pending.push_back(*definition);
          }
        }
        continue;
      }
      if (target.kind != ReferenceTarget::Kind::kCarried) continue;
      if (!target.entity_key.empty()) {
        const ObjectEntity& entity = object.entities.at(target.entity_key);
        if (entity.is_function) {
          KeepFunction(session, *next.pair, entity, false, pending);
          continue;
        }
      }
      pending.push_back({next.pair, target.section});
    }
  }
}

}  // namespace hotpatch::patchgen
