// RevertPatches: the flip backwards (entry_gate.h), newest first.
#include <algorithm>

#include "base/error.h"
#include "engine/engine.h"
#include "engine/fault_injection.h"
#include "engine/flip.h"
#include "engine/patch_cfi.h"
#include "engine/quiescence.h"
#include "engine/recovery.h"
#include "engine/registry.h"
#include "engine/stop_timer.h"
#include "engine/tracer_priority.h"
#include "engine/tracer_thread.h"
#include "process/process_attachment.h"
#include "unwind/stack_walker.h"

namespace hotpatch {

namespace {

// A newer patch that depends on `older`: it replaced one of the same functions (its saved
// previous bytes jump into `older`), or it placed code in a body `older` superseded.
const PatchRecord* FindDependent(const std::vector<PatchRecord>& patches, size_t older_index) {
  const PatchRecord& older = patches[older_index];
  for (size_t i = older_index + 1; i < patches.size(); ++i) {
    const PatchRecord& newer = patches[i];
    for (const auto& f : older.functions) {
      RemoteRange body{f.jump_at + 5, f.entry + static_cast<int64_t>(f.size)};
      for (const auto& g : newer.functions)
        if (g.entry == f.entry) return &newer;
      if (newer.code.overlaps(body)) return &newer;
    }
  }
  return nullptr;
}

std::vector<std::string> ChooseReverts(const std::vector<PatchRecord>& patches,
                                       const RevertOptions& options, pid_t pid) {
  if (patches.empty())
    throw Error(ErrorCode::kNotFound, "pid " + std::to_string(pid) + " has no patches applied");
  std::vector<std::string> ids;
  if (options.all) {
    for (auto it = patches.rbegin(); it != patches.rend(); ++it) ids.push_back(it->patch_id);
  } else if (options.patch_id) {
    auto it = std::find_if(patches.begin(), patches.end(),
                           [&](const PatchRecord& p) { return p.patch_id == *options.patch_id; });
    if (it == patches.end())
      throw Error(ErrorCode::kNotFound, "pid " + std::to_string(pid) + " has no patch " + *options.patch_id);
    if (const PatchRecord* newer = FindDependent(patches, it - patches.begin()))
      throw Error(ErrorCode::kUnsupported, "patch " + *options.patch_id + " in pid " + std::to_string(pid) +
                                               " is overridden by the newer patch " + newer->patch_id +
                                               "; revert " + newer->patch_id + " first");
    ids.push_back(*options.patch_id);
  } else {
    ids.push_back(patches.back().patch_id);
  }
  return ids;
}

void SetRecordState(const RemoteMemory& memory, TargetRegistry& registry, PatchRecord& record,
                    PatchState state) {
  record.state = state;
  std::vector<PatchRecord> now = registry.patches();
  for (auto& p : now)
    if (p.patch_id == record.patch_id) p = record;
  registry.Commit(memory, now);
}

}  // namespace

static RevertResult RevertOnTracerThread(pid_t pid, const RevertOptions& options) {
  auto deadline = std::chrono::steady_clock::now() + options.timeout;
  RemoteMemory memory(pid);
  auto registry = TargetRegistry::TryOpen(pid, memory);
  if (!registry) throw Error(ErrorCode::kNotFound, "pid " + std::to_string(pid) + " has no patches applied");

  RevertResult result;
  result.pid = pid;
  ProcessAttachment process = ProcessAttachment::Seize(pid);
  process.set_boost_while_stopping(options.scheduling_boost);
  StackWalker walker(pid, process.memory());
  for (const auto& p : registry->patches()) AddPatchCodeToWalker(walker, p);
  QuiescenceStats stats;
  if (NeedsRecovery(*registry)) {
    ScopedTracerPriority tracer_priority(options.scheduling_boost);
    RecoverInterrupted(process, walker, *registry, deadline, stats);
  }

  for (const auto& id : ChooseReverts(registry->patches(), options, pid)) {
    auto it = std::find_if(registry->patches().begin(), registry->patches().end(),
                           [&](const PatchRecord& p) { return p.patch_id == id; });
    PatchRecord record = *it;
    // The whole code area: gates, replacements, new functions, stubs. A thread anywhere in it
    // would run on into bytes we are about to restore or unmap.
    std::vector<GuardedCode> guarded{{record.code, "code of patch " + id, false}};
    // "reverting" is recorded while the target runs: with the commit flag still set, a crash
    // from here to the flip leaves a record the next engine reads as committed and re-applies
    // (RecoverInterrupted) — what the target still does.
    SetRecordState(memory, *registry, record, PatchState::kReverting);
    // Unmapping needs a remote syscall, hence a stop; restoring bytes does not. Once the entries
    // point back, no thread can reach the patch code (none was in it: the safety check), so
    // code placed in the module is restored after the resume.
    bool forget_inside = !record.own_mappings.empty();
    walker.LearnModulesWhileRunning();
    ScopedTracerPriority tracer_priority(options.scheduling_boost);
    ActionStopTimer timer(process, &walker);
    try {
      RunWhenQuiescent(process, walker, guarded, deadline, "revert " + id, [&] {
        timer.ActionBegins();
        FaultInjectionPoint("revert-stopped");
        FlipWrites writes(process.memory());
        PointEntries(writes, record, EntryTarget::kGate, [] { FaultInjectionPoint("revert-mid-flip"); });
        SetCommitFlag(writes, record, false);
        FaultInjectionPoint("revert-committed");
        PointEntries(writes, record, EntryTarget::kPrevious);
        writes.VerifyAll();
        if (forget_inside) ForgetPatch(process, *registry, record);
        timer.ActionEnds();
      }, stats);
    } catch (const Error& e) {
      // Busy until the deadline (nothing written yet): the patch stays applied, and says so.
      if (e.code() == ErrorCode::kBusy && ReadCommitFlag(memory, record))
        SetRecordState(memory, *registry, record, PatchState::kApplied);
      throw;
    }
    timer.StopEnded(result.pause_breakdown);
    if (!forget_inside) ForgetPatch(process, *registry, record);
    RemovePatchCodeFromWalker(walker, record);
    result.reverted.push_back(id);
  }
  // As after an apply: no second stop to detach (ProcessAttachment::LeaveToTracerThreadExit).
  process.LeaveToTracerThreadExit();
  result.attempts = stats.attempts;
  result.pause_us = stats.pause_us;
  return result;
}

RevertResult RevertPatches(pid_t pid, const RevertOptions& options) {
  return RunOnOwnTracerThread([&] { return RevertOnTracerThread(pid, options); });
}

std::vector<ListedPatch> ListPatches(pid_t pid) {
  RemoteMemory memory(pid);
  std::vector<ListedPatch> listed;
  if (auto registry = TargetRegistry::TryOpen(pid, memory))
    for (const auto& p : registry->patches()) listed.push_back({p, EffectiveState(memory, p)});
  return listed;
}

}  // namespace hotpatch
