// libFuzzer harness: the CFI the row walker reads (unwind/cfa_rows.h) is written by the target, and
// a hostile target controls every byte of its .eh_frame_hdr table and .eh_frame. The input is laid
// out at a fixed address of this process, far from any other mapping, and read back through the
// same StopMemoryCache and process_vm_readv path as a tracee's memory:
//   byte 0       number of table entries (mod 9)
//   bytes 1..    the .eh_frame_hdr search table (8 bytes an entry, offsets from the region's
//   start),
//                then anything: the .eh_frame records the entries point at
// FindCfaRow is asked for the pcs at and just after each entry's initial location. A row or
// nullopt may come out; any exception, crash or sanitizer report is a finding.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>

#include "process/remote_memory.h"
#include "unwind/cfa_rows.h"

using namespace hotpatch;
using namespace hotpatch::unwind;

namespace {

// 32 TiB: in ASan's high memory (its shadow ends at 0x10007fff7fff), nothing else within ±2 GiB.
constexpr uint64_t kRegionAddress = 0x200000000000;
constexpr size_t kRegionSize = 1 << 16;

uint8_t* Region() {
  static uint8_t* region = [] {
    void* at = mmap(reinterpret_cast<void*>(kRegionAddress), kRegionSize, PROT_READ | PROT_WRITE,
                    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (at != reinterpret_cast<void*>(kRegionAddress)) abort();
    return static_cast<uint8_t*>(at);
  }();
  return region;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1 || size - 1 > kRegionSize) return 0;
  uint8_t* region = Region();
  std::memset(region, 0, kRegionSize);
  std::memcpy(region, data + 1, size - 1);
  uint64_t entries = data[0] % 9;

  static RemoteMemory memory(getpid());
  StopMemoryCache cache(memory);
  EhFrameSearchTable table{RemotePtr(kRegionAddress), RemotePtr(kRegionAddress), entries};
  for (uint64_t i = 0; i < entries; ++i) {
    int32_t initial_location;
    std::memcpy(&initial_location, region + i * 8, sizeof initial_location);
    uint64_t pc = kRegionAddress + static_cast<uint64_t>(static_cast<int64_t>(initial_location));
    for (uint64_t delta : {0, 1, 5, 17}) {
      std::optional<CfaRow> row = FindCfaRow(cache, table, pc + delta);
      if (row && row->cfa_register >= kDwarfRegisterCount) abort();  // never a bad register
    }
  }
  return 0;
}
