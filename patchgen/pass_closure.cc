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

}  // namespace

void ClosureOfNeededSymbols(DiffSession& session) {
  std::deque<PendingSection> pending;
  for (ObjectPair& pair : session.pairs) {
    for (const auto& [key, change] : pair.function_changes) {
      if (change == FunctionChange::kChanged) {
        KeepFunction(session, pair, pair.patched->entities.at(key), true, pending);
      }
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
