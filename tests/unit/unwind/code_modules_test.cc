#include "unwind/code_modules.h"

#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "process/remote_memory.h"
#include "support/own_pages.h"
#include "unwind/stop_memory_cache.h"

using namespace hotpatch;
using namespace hotpatch::unwind;

namespace {

void CodeHere() {}

}  // namespace

// Reading our own process goes through the same kernel paths as reading a tracee.
TEST_CASE("FindCodeModules finds the executable and the vDSO, with CFI read from memory") {
  RemoteMemory memory(getpid());
  StopMemoryCache cache(memory);
  std::vector<CodeModule> modules = FindCodeModules(getpid(), cache);
  RemotePtr here(reinterpret_cast<uint64_t>(&CodeHere));
  bool found_vdso = false, found_self = false;
  for (const CodeModule& module : modules) {
    INFO(module.name << " " << module.cfi_problem);
    bool contains_here = false;
    for (const RemoteRange& range : module.code) contains_here |= range.contains(here);
    if (module.name == "[vdso]") {
      found_vdso = true;
      CHECK(module.has_cfi);
      CHECK(module.cfi.fde_count > 0);
    }
    if (contains_here) {
      found_self = true;
      CHECK(module.has_cfi);
      CHECK(module.cfi.fde_count > 10);
    }
  }
  CHECK(found_vdso);
  CHECK(found_self);
}

TEST_CASE("StopMemoryCache reads words across pages and reports unmapped ones") {
  RemoteMemory memory(getpid());
  StopMemoryCache cache(memory);
  size_t page = StopMemoryCache::kPageSize;
  uint8_t* area = hotpatch::test::MapOwnPages(2);
  for (size_t i = 0; i < 2 * page; ++i) area[i] = static_cast<uint8_t>(i);
  RemotePtr at(reinterpret_cast<uint64_t>(area));

  uint64_t expected;
  std::memcpy(&expected, area + page - 3, 8);
  CHECK(cache.TryReadWord(at + static_cast<int64_t>(page) - 3) == expected);  // straddles
  CHECK(cache.cached_pages() == 2);

  // A cached page is a snapshot of the stop: changes show only after Clear().
  area[0] = 0xee;
  uint8_t byte = 0;
  REQUIRE(cache.TryReadBytes(at, &byte, 1));
  CHECK(byte == 0);
  cache.Clear();
  REQUIRE(cache.TryReadBytes(at, &byte, 1));
  CHECK(byte == 0xee);

  munmap(area + page, page);
  cache.Clear();
  CHECK_FALSE(cache.TryReadWord(at + static_cast<int64_t>(page) - 4).has_value());
  CHECK_FALSE(cache.TryReadWord(RemotePtr(8)).has_value());
  munmap(area, page);
}

TEST_CASE("StopMemoryCache prefetches pages in one go and keeps lasting regions across stops") {
  RemoteMemory memory(getpid());
  StopMemoryCache cache(memory);
  size_t page = StopMemoryCache::kPageSize;
  uint8_t* area = hotpatch::test::MapOwnPages(4);
  for (size_t i = 0; i < 4 * page; ++i) area[i] = static_cast<uint8_t>(i / page + 1);
  uint64_t at = reinterpret_cast<uint64_t>(area);
  REQUIRE(mprotect(area + page, page, PROT_NONE) == 0);

  // Page 1 is unreadable to process_vm_readv: skipped, the pages after it still come in.
  cache.Prefetch({at + 3 * page, at, at + page, at + 2 * page, at});
  CHECK(cache.cached_pages() == 3);
  area[0] = 0x77;  // a prefetched page is the stop's snapshot
  uint8_t byte = 0;
  REQUIRE(cache.TryReadBytes(RemotePtr(at), &byte, 1));
  CHECK(byte == 1);
  REQUIRE(cache.TryReadBytes(RemotePtr(at + 3 * page + 5), &byte, 1));
  CHECK(byte == 4);
  // The skipped page is read the slow way (/proc/PID/mem) when a word of it is asked for.
  REQUIRE(cache.TryReadBytes(RemotePtr(at + page), &byte, 1));
  CHECK(byte == 2);

  // A lasting region survives Clear(): read once, while "the target runs".
  cache.Clear();
  uint64_t generation = cache.lasting_generation();
  cache.KeepLasting({RemotePtr(at + 2 * page), RemotePtr(at + 4 * page)});
  CHECK(cache.lasting_generation() != generation);
  generation = cache.lasting_generation();
  area[2 * page] = 0x55;
  cache.Clear();
  uint64_t outside = cache.reads_outside_lasting();
  REQUIRE(cache.TryReadBytes(RemotePtr(at + 2 * page), &byte, 1));
  CHECK(byte == 3);
  CHECK(cache.cached_pages() == 0);  // served from the lasting region, no page read
  // What was computed from lasting bytes only can be kept as long as the generation holds.
  CHECK(cache.reads_outside_lasting() == outside);
  CHECK(cache.lasting_generation() == generation);
  REQUIRE(cache.TryReadBytes(RemotePtr(at), &byte, 1));
  CHECK(cache.reads_outside_lasting() == outside + 1);
  cache.ForgetLasting();
  CHECK(cache.lasting_generation() != generation);
  REQUIRE(cache.TryReadBytes(RemotePtr(at + 2 * page), &byte, 1));
  CHECK(byte == 0x55);
  munmap(area, 4 * page);
}
