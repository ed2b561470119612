// Finishing what a killed engine left (design §6 "Crash consistency"). A record not in state
// "applied" tells what the engine was doing; the commit flag tells what the target does:
//   flag 1 — the target runs patched: point the entries straight at the replacements, mark applied;
//   flag 0 — the target runs unpatched: point the entries back, drop the record, restore the
//            areas it overwrote, unmap its mappings.
#pragma once

#include <chrono>

#include "engine/quiescence.h"
#include "engine/registry.h"

namespace hotpatch {

class ProcessAttachment;
class StackWalker;

bool NeedsRecovery(const TargetRegistry& registry);

// Whether the target runs this record's replacements now: its commit flag is set (and readable).
bool TargetRunsPatch(const RemoteMemory& memory, const PatchRecord& record);
// "applied" or "not applied": what the target does for this record now.
std::string EffectiveState(const RemoteMemory& memory, const PatchRecord& record);

void RecoverInterrupted(ProcessAttachment& process, StackWalker& walker, TargetRegistry& registry,
                        std::chrono::steady_clock::time_point deadline, QuiescenceStats& stats);

// Restores the areas `record` overwrote (its entries must already hold their previous bytes),
// removes it from the registry, then restores its commit flag's bytes and unmaps its mappings.
void ForgetPatch(ProcessAttachment& process, TargetRegistry& registry, const PatchRecord& record);

}  // namespace hotpatch
