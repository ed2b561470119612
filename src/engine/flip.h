// The writes inside the stop (entry_gate.h explains the three steps). Each write is read back:
// /proc/PID/mem reports success for a write that landed, but a bug of ours that computes a wrong
// address would otherwise go unnoticed until the target crashes.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/remote_ptr.h"
#include "engine/patch_record.h"

namespace hotpatch {

class RemoteMemory;

// Writes `bytes` at `address` and reads them back; throws Error(kInternal) on a mismatch.
void WriteAndVerify(const RemoteMemory& memory, RemotePtr address, std::span<const uint8_t> bytes);

enum class EntryTarget { kGate, kReplacement, kPrevious };

// The 5 bytes that make `f`'s entry go to its gate, its replacement, or what was there before.
std::vector<uint8_t> EntryBytes(const PatchedFunction& f, EntryTarget target);

// Points every entry of `record` at `target`, calling `after_each` after each write (a fault
// injection point between writes).
void PointEntries(const RemoteMemory& memory, const PatchRecord& record, EntryTarget target,
                  void (*after_each)() = nullptr);

void SetCommitFlag(const RemoteMemory& memory, const PatchRecord& record, bool committed);
bool ReadCommitFlag(const RemoteMemory& memory, const PatchRecord& record);

}  // namespace hotpatch
