#include "engine/entry_gate.h"

#include <cstring>

#include "arch/x86_64/displaced_instructions.h"
#include "arch/x86_64/jump_encoding.h"
#include "base/error.h"

namespace hotpatch {

namespace {

void AppendInt32(std::vector<uint8_t>& out, int64_t value) {
  int32_t v = static_cast<int32_t>(value);
  uint8_t b[4];
  std::memcpy(b, &v, 4);
  out.insert(out.end(), b, b + 4);
}

}  // namespace

std::vector<uint8_t> BuildEntryGate(RemotePtr gate, RemotePtr commit_flag, RemotePtr replacement,
                                    RemotePtr jump_at, std::span<const uint8_t> bytes_at_jump_at) {
  std::vector<uint8_t> out;
  // 80 3d disp32 00: cmpb $0x0, disp32(%rip); disp32 is relative to the end (gate + 7).
  out.insert(out.end(), {0x80, 0x3d});
  int64_t flag_disp = commit_flag - (gate + 7);
  if (!x86_64::FitsRel32(gate + 7, commit_flag))
    throw Error(ErrorCode::kInternal, "commit flag out of reach of gate " + gate.ToString());
  AppendInt32(out, flag_disp);
  out.push_back(0x00);
  // 0f 85 rel32: jne replacement; rel32 relative to gate + 13.
  if (!x86_64::FitsRel32(gate + 13, replacement))
    throw Error(ErrorCode::kInternal, "replacement " + replacement.ToString() +
                                          " out of rel32 reach of gate " + gate.ToString());
  out.insert(out.end(), {0x0f, 0x85});
  AppendInt32(out, replacement - (gate + 13));
  static_assert(kEntryGateCompareSize == 13, "cmpb (7 bytes) and jne rel32 (6)");
  auto displaced = x86_64::RelocateDisplacedInstructions(
      bytes_at_jump_at, jump_at, x86_64::kJmpRel32Length, gate + static_cast<int64_t>(out.size()));
  out.insert(out.end(), displaced.bytes.begin(), displaced.bytes.end());
  if (out.size() > kEntryGateSize)
    throw Error(ErrorCode::kUnsupported, "entry at " + jump_at.ToString() +
                                             ": displaced instructions do not fit a gate");
  out.resize(kEntryGateSize, 0xcc);  // int3 fill: nothing may run past the gate
  return out;
}

}  // namespace hotpatch
