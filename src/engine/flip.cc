#include "engine/flip.h"

#include <algorithm>
#include <map>
#include <string>

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

void FlipWrites::Write(RemotePtr address, std::span<const uint8_t> bytes) {
  memory_.Write(address, bytes);
  written_.push_back({address, {bytes.begin(), bytes.end()}});
}

void FlipWrites::VerifyAll() {
  // The bytes as they must now be, in runs of adjacent addresses: an entry written twice in one
  // stop (gate, then replacement) is checked once, for its last bytes.
  std::map<uint64_t, uint8_t> expected;
  for (const Written& w : written_)
    for (size_t i = 0; i < w.bytes.size(); ++i) expected[w.address.value() + i] = w.bytes[i];
  written_.clear();
  std::vector<Written> runs;
  for (const auto& [address, byte] : expected) {
    if (runs.empty() || runs.back().address.value() + runs.back().bytes.size() != address)
      runs.push_back({RemotePtr(address), {}});
    runs.back().bytes.push_back(byte);
  }
  std::vector<RemoteRange> from;
  std::vector<std::vector<uint8_t>> back(runs.size());
  std::vector<uint8_t*> into;
  for (size_t i = 0; i < runs.size(); ++i) {
    from.push_back({runs[i].address, runs[i].address + static_cast<int64_t>(runs[i].bytes.size())});
    back[i].resize(runs[i].bytes.size());
    into.push_back(back[i].data());
  }
  size_t read = memory_.TryReadScattered(from, into);
  for (size_t i = 0; i < runs.size(); ++i) {
    // process_vm_readv stops at a page the target could not read itself (execute-only text);
    // /proc/PID/mem reads it, or throws naming it.
    if (i >= read) memory_.Read(runs[i].address, back[i]);
    if (back[i] != runs[i].bytes)
      throw Error(ErrorCode::kInternal, "pid " + std::to_string(memory_.pid()) + ": wrote [" +
                                            HexBytes(runs[i].bytes) + "] at " +
                                            runs[i].address.ToString() + " but read back [" +
                                            HexBytes(back[i]) + "]");
  }
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

void PointEntries(FlipWrites& writes, const PatchRecord& record, EntryTarget target,
                  void (*after_each)()) {
  for (const auto& f : record.functions) {
    writes.Write(f.jump_at, EntryBytes(f, target));
    if (after_each) after_each();
  }
}

void SetCommitFlag(FlipWrites& writes, const PatchRecord& record, bool committed) {
  const uint8_t value = committed ? 1 : 0;  // the gate tests "!= 0" (entry_gate.h)
  // One byte: the commit point of the whole bundle (entry_gate.h).
  writes.Write(record.commit_flag, std::span(&value, 1));
}

bool ReadCommitFlag(const RemoteMemory& memory, const PatchRecord& record) {
  return memory.ReadValue<uint8_t>(record.commit_flag) != 0;
}

}  // namespace hotpatch
