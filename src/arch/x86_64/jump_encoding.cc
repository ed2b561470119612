#include "arch/x86_64/jump_encoding.h"

#include <algorithm>
#include <cstring>
#include <iterator>
#include <limits>

#include "base/error.h"

namespace hotpatch::x86_64 {
namespace {

template <typename Displacement>
bool FitsDisplacement(RemotePtr from_next_instruction, RemotePtr to) {
  int64_t distance = to - from_next_instruction;
  return distance >= std::numeric_limits<Displacement>::min() &&
         distance <= std::numeric_limits<Displacement>::max();
}

// x86 stores displacements and immediates little-endian.
void StoreLittleEndian(uint8_t* out, uint64_t value, size_t size) {
  for (size_t i = 0; i < size; ++i) out[i] = uint8_t(value >> (8 * i));
}

Error OutOfReach(const char* kind, RemotePtr from, RemotePtr to) {
  return Error(ErrorCode::kUnsupported, std::string(kind) + " at " + from.ToString() +
                                            " cannot reach " + to.ToString() + " (distance " +
                                            std::to_string(to - from) + " bytes)");
}

}  // namespace

bool FitsRel32(RemotePtr from_next_instruction, RemotePtr to) {
  return FitsDisplacement<int32_t>(from_next_instruction, to);
}

bool FitsRel8(RemotePtr from_next_instruction, RemotePtr to) {
  return FitsDisplacement<int8_t>(from_next_instruction, to);
}

std::array<uint8_t, kJmpRel32Length> EncodeJmpRel32(RemotePtr from, RemotePtr to) {
  RemotePtr next = from + kJmpRel32Length;
  if (!FitsRel32(next, to)) throw OutOfReach("jmp rel32", from, to);
  std::array<uint8_t, kJmpRel32Length> bytes;
  bytes[0] = 0xe9;  // e9 rel32: jmp to from+5+rel32
  StoreLittleEndian(&bytes[1], uint64_t(to - next), 4);
  return bytes;
}

std::array<uint8_t, kJmpRel8Length> EncodeJmpRel8(RemotePtr from, RemotePtr to) {
  RemotePtr next = from + kJmpRel8Length;
  if (!FitsRel8(next, to)) throw OutOfReach("jmp rel8", from, to);
  std::array<uint8_t, kJmpRel8Length> bytes;
  bytes[0] = 0xeb;  // eb rel8: jmp to from+2+rel8
  bytes[1] = uint8_t(int8_t(to - next));
  return bytes;
}

std::vector<uint8_t> EncodeAbsoluteJump(RemotePtr /*at: the pattern is position independent*/,
                                        RemotePtr to) {
  std::vector<uint8_t> bytes(kAbsoluteJumpLength);
  // ff 25 00000000: jmp *disp32(%rip) with disp32 = 0, i.e. through the 8 bytes that follow
  // this 6-byte instruction.
  const uint8_t jmp_through_next_quad[] = {0xff, 0x25, 0x00, 0x00, 0x00, 0x00};
  std::memcpy(bytes.data(), jmp_through_next_quad, sizeof jmp_through_next_quad);
  // .quad target: the absolute destination, read by the jmp above.
  StoreLittleEndian(&bytes[6], to.value(), 8);
  return bytes;
}

std::optional<RemotePtr> JumpPatternTarget(std::span<const uint8_t> code, RemotePtr at) {
  auto load = [&](size_t offset, size_t size) {
    uint64_t value = 0;
    for (size_t i = 0; i < size; ++i) value |= uint64_t(code[offset + i]) << (8 * i);
    return value;
  };
  if (code.size() >= kJmpRel32Length && code[0] == 0xe9) {  // e9 rel32
    return at + kJmpRel32Length + int64_t(int32_t(uint32_t(load(1, 4))));
  }
  if (code.size() >= kJmpRel8Length && code[0] == 0xeb) {  // eb rel8
    return at + kJmpRel8Length + int64_t(int8_t(code[1]));
  }
  const uint8_t jmp_through_next_quad[] = {0xff, 0x25, 0x00, 0x00, 0x00, 0x00};
  if (code.size() >= kAbsoluteJumpLength &&
      std::equal(std::begin(jmp_through_next_quad), std::end(jmp_through_next_quad),
                 code.begin())) {
    return RemotePtr(load(6, 8));
  }
  return std::nullopt;
}

}  // namespace hotpatch::x86_64
