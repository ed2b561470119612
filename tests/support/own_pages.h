// Fresh read-write pages of the test's own process, standing in for a tracee's memory: reading and
// writing our own process goes through the same kernel paths (/proc/PID/mem, process_vm_readv).
// The caller munmaps them (some tests unmap or protect single pages on purpose).
#pragma once

#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstddef>
#include <cstdint>

namespace hotpatch::test {

inline uint8_t* MapOwnPages(size_t count) {
  void* area = mmap(nullptr, count * static_cast<size_t>(sysconf(_SC_PAGESIZE)),
                    PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  REQUIRE(area != MAP_FAILED);
  return static_cast<uint8_t*>(area);
}

}  // namespace hotpatch::test
