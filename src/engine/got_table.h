// The patch's private GOT and the call stubs that jump through it, placed at the end of the code
// area. A patch is linked by us, not by ld.so, so GOT-relative relocations (R_X86_64_GOTPCREL*,
// R_X86_64_GOTTPOFF) need slots we lay out ourselves, and calls to the target or its libraries need
// a way to reach beyond rel32 when the patch lands more than 2 GiB away from them. The slots are
// read-only after linking (nothing binds lazily), so they can live in the R+X code area.
//
// Layout, address-independent: one 8-byte slot per symbol that needs one, in order of first
// request, then one 8-byte stub per symbol that needs one.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "base/remote_ptr.h"

namespace hotpatch {

class GotTable {
 public:
  static constexpr uint64_t kSlotSize = 8;
  static constexpr uint64_t kStubSize = 8;
  static constexpr uint64_t kAlignment = 8;  // slots hold 64-bit values read with one mov

  // Symbols are indices into the ResolvedSymbol vector. A stub implies a slot for its symbol.
  void RequireSlot(uint32_t symbol);
  void RequireStub(uint32_t symbol);

  uint64_t slots_size() const { return slots_.size() * kSlotSize; }
  uint64_t stubs_size() const { return stubs_.size() * kStubSize; }
  uint64_t size() const { return slots_size() + stubs_size(); }
  std::optional<uint64_t> SlotOffset(uint32_t symbol) const;
  std::optional<uint64_t> StubOffset(uint32_t symbol) const;

  // Fills `table` (size() bytes, placed at `base` in the target): each slot holds S, each stub
  // jumps through its symbol's slot. `symbol_values` holds S for every symbol index.
  void Emit(std::span<uint8_t> table, RemotePtr base,
            const std::vector<uint64_t>& symbol_values) const;

 private:
  // symbol index -> position among slots / stubs.
  std::map<uint32_t, uint64_t> slots_;
  std::map<uint32_t, uint64_t> stubs_;
};

}  // namespace hotpatch
