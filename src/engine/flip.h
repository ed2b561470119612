// The writes inside the stop (entry_gate.h explains the three steps). Every write is read back:
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

// The writes of one stop, read back together at its end (VerifyAll): one process_vm_readv for all
// of them instead of one each, inside the pause. The target runs none of its code between the
// writes and the check, so a mismatch found at the end is found in time: the caller throws and
// rolls back as it would have after the first bad write.
class FlipWrites {
 public:
  explicit FlipWrites(const RemoteMemory& memory) : memory_(memory) {}

  // Writes now (/proc/PID/mem: text pages are not writable to process_vm_writev).
  void Write(RemotePtr address, std::span<const uint8_t> bytes);
  // Reads back every byte written (the last write to a byte wins); throws Error(kInternal) naming
  // the first range that differs.
  void VerifyAll();

 private:
  struct Written {
    RemotePtr address;
    std::vector<uint8_t> bytes;
  };
  const RemoteMemory& memory_;
  std::vector<Written> written_;
};

enum class EntryTarget { kGate, kReplacement, kPrevious };

// The 5 bytes that make `f`'s entry go to its gate, its replacement, or what was there before.
std::vector<uint8_t> EntryBytes(const PatchedFunction& f, EntryTarget target);

// Points every entry of `record` at `target`, calling `after_each` after each write (a fault
// injection point between writes).
void PointEntries(FlipWrites& writes, const PatchRecord& record, EntryTarget target,
                  void (*after_each)() = nullptr);

void SetCommitFlag(FlipWrites& writes, const PatchRecord& record, bool committed);
bool ReadCommitFlag(const RemoteMemory& memory, const PatchRecord& record);

}  // namespace hotpatch
