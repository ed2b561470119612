#include "engine/got_table.h"

#include <cstring>

#include "base/error.h"

namespace hotpatch {

void GotTable::RequireSlot(uint32_t symbol) {
  slots_.try_emplace(symbol, slots_.size());
}

void GotTable::RequireStub(uint32_t symbol) {
  RequireSlot(symbol);
  stubs_.try_emplace(symbol, stubs_.size());
}

std::optional<uint64_t> GotTable::SlotOffset(uint32_t symbol) const {
  auto it = slots_.find(symbol);
  if (it == slots_.end()) return std::nullopt;
  return it->second * kSlotSize;
}

std::optional<uint64_t> GotTable::StubOffset(uint32_t symbol) const {
  auto it = stubs_.find(symbol);
  if (it == stubs_.end()) return std::nullopt;
  return slots_.size() * kSlotSize + it->second * kStubSize;
}

void GotTable::Emit(std::span<uint8_t> table, RemotePtr base,
                    const std::vector<uint64_t>& symbol_values) const {
  if (table.size() != size())
    throw Error(ErrorCode::kInternal, "GOT table at " + base.ToString() + " given " +
                                          std::to_string(table.size()) + " bytes, needs " +
                                          std::to_string(size()));
  for (const auto& [symbol, index] : slots_) {
    uint64_t S = symbol_values.at(symbol);
    std::memcpy(table.data() + index * kSlotSize, &S, sizeof S);
  }
  for (const auto& [symbol, index] : stubs_) {
    uint64_t stub_offset = slots_.size() * kSlotSize + index * kStubSize;
    uint64_t slot_offset = *SlotOffset(symbol);
    uint8_t* stub = table.data() + stub_offset;
    // ff 25 <disp32>: jmp *disp32(%rip), disp32 = slot - end of the 6-byte instruction. Both lie in
    // this table, so the displacement is small and cannot overflow. The jmp leaves the stack as
    // the caller's call made it, so the callee returns straight to the patch code.
    int32_t disp32 = int32_t(int64_t(slot_offset) - int64_t(stub_offset + 6));
    stub[0] = 0xff;
    stub[1] = 0x25;
    std::memcpy(stub + 2, &disp32, sizeof disp32);
    // cc cc: int3 padding to the next stub; never executed.
    stub[6] = 0xcc;
    stub[7] = 0xcc;
  }
}

}  // namespace hotpatch
