// A read cache over a stopped tracee's memory, valid for one stop only.
//
// libunwind asks for memory one aligned word at a time (CFI tables, FDEs, saved registers on the
// stack). One system call per word made the walk slow and, worse, made it cost time the target is
// stopped. Here the first word of a 4 KiB page brings in the whole page with one process_vm_readv;
// every later word of that page is a copy. The cache must be dropped whenever the tracee ran,
// because its stacks and data changed (Clear()).
//
// Except for lasting regions (KeepLasting): the CFI of mapped objects (.eh_frame_hdr, .eh_frame)
// sits in read-only file mappings that no running code can change. They are read while the target
// runs, in one call per region, and survive Clear(); a cold walk then finds its tables and FDEs
// without a system call inside the stop.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

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

  // Brings in the pages at these page-aligned addresses with as few system calls as their
  // readability allows (TryReadScattered): the stack top of every stopped thread before the walks.
  // A page that cannot be read this way is left to the word that asks for it.
  void Prefetch(std::vector<uint64_t> page_addresses);
  // Reads [range) now (what is readable of it, from its start) and keeps it across Clear().
  void KeepLasting(RemoteRange range);
  void ForgetLasting() {
    lasting_.clear();
    ++lasting_generation_;
  }

  void Clear() { pages_.clear(); }
  const RemoteMemory& remote() const { return memory_; }
  size_t cached_pages() const { return pages_.size(); }

  // What a result computed from this memory may be kept for. A computation during which
  // reads_outside_lasting() did not change read lasting bytes only, and its result holds as long
  // as lasting_generation() stays the same (the row walker keeps CFI rows across stops this way).
  uint64_t reads_outside_lasting() const { return reads_outside_lasting_; }
  uint64_t lasting_generation() const { return lasting_generation_; }

 private:
  struct Page {
    bool readable = false;
    uint8_t bytes[kPageSize];
  };
  struct LastingRegion {
    uint64_t begin = 0;
    std::vector<uint8_t> bytes;
  };
  const Page& PageAt(uint64_t page_address);
  bool TryCopyLasting(uint64_t address, uint8_t* out, size_t size) const;

  const RemoteMemory& memory_;
  std::unordered_map<uint64_t, std::unique_ptr<Page>> pages_;
  std::vector<LastingRegion> lasting_;
  uint64_t reads_outside_lasting_ = 0;
  uint64_t lasting_generation_ = 0;
};

}  // namespace hotpatch::unwind
