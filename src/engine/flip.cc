#include "engine/flip.h"

#include <algorithm>

#include "arch/x86_64/jump_encoding.h"
#include "base/error.h"
#include "base/hex.h"
#include "process/remote_memory.h"

namespace hotpatch {

void WriteAndVerify(const RemoteMemory& memory, RemotePtr address, std::span<const uint8_t> bytes) {
  memory.Write(address, bytes);
  auto back = memory.Read(address, bytes.size());
  if (!std::equal(back.begin(), back.end(), bytes.begin()))
    throw Error(ErrorCode::kInternal, "pid " + std::to_string(memory.pid()) + ": wrote [" +
                                          HexBytes(bytes) + "] at " + address.ToString() +
                                          " but read back [" + HexBytes(back) + "]");
}

std::vector<uint8_t> EntryBytes(const PatchedFunction& f, EntryTarget target) {
  switch (target) {
    case EntryTarget::kGate: {
      auto jmp = x86_64::EncodeJmpRel32(f.jump_at, f.gate);  // e9 rel32: jmp gate
      return {jmp.begin(), jmp.end()};
    }
    case EntryTarget::kReplacement: {
      auto jmp = x86_64::EncodeJmpRel32(f.jump_at, f.replacement);  // e9 rel32: jmp replacement
      return {jmp.begin(), jmp.end()};
    }
    case EntryTarget::kPrevious:
      return f.previous_bytes;
  }
  return {};
}

void PointEntries(const RemoteMemory& memory, const PatchRecord& record, EntryTarget target,
                  void (*after_each)()) {
  for (const auto& f : record.functions) {
    WriteAndVerify(memory, f.jump_at, EntryBytes(f, target));
    if (after_each) after_each();
  }
}

void SetCommitFlag(const RemoteMemory& memory, const PatchRecord& record, bool committed) {
  const uint8_t value = committed ? 1 : 0;  // the gate tests "!= 0" (entry_gate.h)
  // One byte: the commit point of the whole bundle (entry_gate.h).
  WriteAndVerify(memory, record.commit_flag, std::span(&value, 1));
}

bool ReadCommitFlag(const RemoteMemory& memory, const PatchRecord& record) {
  return memory.ReadValue<uint8_t>(record.commit_flag) != 0;
}

}  // namespace hotpatch
