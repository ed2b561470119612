// A read cache over a stopped tracee's memory, valid for one stop only.
//
// libunwind asks for memory one aligned word at a time (CFI tables, FDEs, saved registers on the
// stack). One system call per word made the walk slow and, worse, made it cost time the target is
// stopped. Here the first word of a 4 KiB page brings in the whole page with one process_vm_readv;
// every later word of that page is a copy. The cache must be dropped whenever the tracee ran,
// because its stacks and data changed (Clear()).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>

#include "base/remote_ptr.h"
#include "process/remote_memory.h"

namespace hotpatch::unwind {

class StopMemoryCache {
 public:
  static constexpr uint64_t kPageSize = 4096;

  explicit StopMemoryCache(const RemoteMemory& memory) : memory_(memory) {}

  // The 8 bytes at `address` (any alignment, may straddle pages), or nullopt when any of them is
  // unmapped in the tracee. Unreadable pages are remembered too, so a bad pointer costs one call.
  std::optional<uint64_t> TryReadWord(RemotePtr address);
  // Copies `size` bytes into `out`; false when any byte is unmapped.
  bool TryReadBytes(RemotePtr address, void* out, size_t size);

  void Clear() { pages_.clear(); }
  size_t cached_pages() const { return pages_.size(); }

 private:
  struct Page {
    bool readable = false;
    uint8_t bytes[kPageSize];
  };
  const Page& PageAt(uint64_t page_address);

  const RemoteMemory& memory_;
  std::unordered_map<uint64_t, std::unique_ptr<Page>> pages_;
};

}  // namespace hotpatch::unwind
