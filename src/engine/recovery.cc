#include "engine/recovery.h"

#include "base/error.h"
#include "engine/entry_gate.h"
#include "engine/fault_injection.h"
#include "engine/flip.h"
#include "engine/remote_mapping.h"
#include "process/process_attachment.h"
#include "process/remote_memory.h"

namespace hotpatch {

bool NeedsRecovery(const TargetRegistry& registry) {
  for (const auto& p : registry.patches())
    if (p.state != PatchState::kApplied) return true;
  return false;
}

bool TargetRunsPatch(const RemoteMemory& memory, const PatchRecord& record) {
  uint8_t flag = 0;
  // A record whose code is gone (its mapping unmapped by a crash mid-revert) is not applied.
  if (memory.TryRead(record.commit_flag, std::span(&flag, 1)) != 1) return false;
  return flag != 0;
}

std::string EffectiveState(const RemoteMemory& memory, const PatchRecord& record) {
  return TargetRunsPatch(memory, record) ? "applied" : "not applied";
}

void ForgetPatch(ProcessAttachment& process, TargetRegistry& registry, const PatchRecord& record) {
  // The commit flag's own bytes are restored last, after the record is gone: until then a crash
  // must still find the flag saying "not committed" (an area's original bytes could read as 1).
  const RemoteRange flag{record.commit_flag, record.commit_flag + static_cast<int64_t>(kCommitFlagSize)};
  std::vector<SavedBytes> flag_bytes;
  for (const auto& saved : record.saved_areas) {
    if (saved.address == flag.begin && saved.bytes.size() >= kCommitFlagSize) {
      std::span<const uint8_t> rest(saved.bytes.begin() + kCommitFlagSize, saved.bytes.end());
      WriteAndVerify(process.memory(), flag.end, rest);
      flag_bytes.push_back({flag.begin, {saved.bytes.begin(), saved.bytes.begin() + kCommitFlagSize}});
    } else {
      WriteAndVerify(process.memory(), saved.address, saved.bytes);
    }
  }
  FaultInjectionPoint("forget-restored");
  std::vector<PatchRecord> without = registry.patches();
  std::erase_if(without, [&](const PatchRecord& p) { return p.patch_id == record.patch_id; });
  registry.Commit(process.memory(), without);
  for (const auto& saved : flag_bytes) WriteAndVerify(process.memory(), saved.address, saved.bytes);
  for (const auto& m : record.own_mappings) RemoveMapping(process, m);
}

void RecoverInterrupted(ProcessAttachment& process, StackWalker& walker, TargetRegistry& registry,
                        std::chrono::steady_clock::time_point deadline, QuiescenceStats& stats) {
  std::vector<PatchRecord> pending;
  for (const auto& p : registry.patches())
    if (p.state != PatchState::kApplied) pending.push_back(p);
  for (auto& record : pending) {
    bool committed = TargetRunsPatch(process.memory(), record);
    // Threads may be inside the gates (running the displaced instructions) when rolling back.
    std::vector<GuardedCode> guarded;
    if (!committed) guarded.push_back({record.code, "code of interrupted patch " + record.patch_id, false});
    RunWhenQuiescent(process, walker, guarded, deadline, "recover interrupted patch " + record.patch_id, [&] {
      FlipWrites writes(process.memory());
      if (committed) {
        PointEntries(writes, record, EntryTarget::kReplacement);
        writes.VerifyAll();
        record.state = PatchState::kApplied;
        std::vector<PatchRecord> now = registry.patches();
        for (auto& p : now)
          if (p.patch_id == record.patch_id) p = record;
        registry.Commit(process.memory(), now);
      } else {
        PointEntries(writes, record, EntryTarget::kPrevious);
        writes.VerifyAll();
        ForgetPatch(process, registry, record);
      }
    }, stats);
  }
}

}  // namespace hotpatch
