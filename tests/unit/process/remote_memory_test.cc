#include "process/remote_memory.h"

#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>

#include "base/error.h"
#include "support/own_pages.h"

using hotpatch::RemoteMemory;
using hotpatch::RemotePtr;

// The engine reads and writes other processes; reading our own is the same kernel path and keeps
// this test free of process setup.
TEST_CASE("RemoteMemory reads and writes in bulk, also through read-only pages") {
  RemoteMemory memory(getpid());
  size_t page = sysconf(_SC_PAGESIZE);
  uint8_t* area = hotpatch::test::MapOwnPages(2);
  std::memset(area, 0xab, 2 * page);
  RemotePtr at(reinterpret_cast<uint64_t>(area));

  auto bytes = memory.Read(at + 10, page);  // crosses a page boundary
  CHECK(bytes.size() == page);
  CHECK(bytes[0] == 0xab);

  REQUIRE(mprotect(area, 2 * page, PROT_READ) == 0);
  const uint8_t pattern[] = {1, 2, 3, 4, 5};
  memory.Write(at + page - 2, pattern);  // /proc/PID/mem writes through PROT_READ
  CHECK(std::memcmp(area + page - 2, pattern, sizeof pattern) == 0);

  // process_vm_readv refuses PROT_NONE; TryRead stops there, Read falls back to /proc/PID/mem.
  REQUIRE(mprotect(area + page, page, PROT_NONE) == 0);
  std::vector<uint8_t> out(2 * page);
  CHECK(memory.TryRead(at, out) == page);
  memory.Read(at, out);
  CHECK(out[page] == 3);
  munmap(area, 2 * page);
}

TEST_CASE("RemoteMemory errors name the pid and address") {
  RemoteMemory memory(getpid());
  try {
    memory.Read(RemotePtr(8), 16);  // page zero is never mapped
    FAIL("read of page zero succeeded");
  } catch (const hotpatch::Error& e) {
    CHECK(std::string(e.what()).find("0x8") != std::string::npos);
    CHECK(std::string(e.what()).find(std::to_string(getpid())) != std::string::npos);
  }
  CHECK_THROWS_AS(RemoteMemory(999999999), hotpatch::Error);
}

TEST_CASE("TryReadScattered reads many regions in one call, up to the first unreadable one") {
  RemoteMemory memory(getpid());
  size_t page = sysconf(_SC_PAGESIZE);
  uint8_t* area = hotpatch::test::MapOwnPages(4);
  for (size_t i = 0; i < 4; ++i) std::memset(area + i * page, 0x10 + i, page);
  RemotePtr at(reinterpret_cast<uint64_t>(area));
  auto region = [&](size_t index, size_t offset, size_t size) {
    RemotePtr begin = at + static_cast<int64_t>(index * page + offset);
    return hotpatch::RemoteRange{begin, begin + static_cast<int64_t>(size)};
  };
  std::vector<uint8_t> a(16), b(page), c(8);
  std::vector<uint8_t*> into = {a.data(), b.data(), c.data()};

  // Out of order and of different sizes: each lands in its own buffer.
  std::vector<hotpatch::RemoteRange> from = {region(3, 0, 16), region(0, 0, page),
                                             region(2, 100, 8)};
  CHECK(memory.TryReadScattered(from, into) == 3);
  CHECK(a[15] == 0x13);
  CHECK(b[page - 1] == 0x10);
  CHECK(c[0] == 0x12);

  // A PROT_NONE page ends the batch there: the regions before it are read, none after.
  REQUIRE(mprotect(area + 2 * page, page, PROT_NONE) == 0);
  std::fill(a.begin(), a.end(), 0);
  std::fill(c.begin(), c.end(), 0);
  from = {region(3, 0, 16), region(2, 100, 8), region(1, 0, 8)};
  into = {a.data(), c.data(), b.data()};
  CHECK(memory.TryReadScattered(from, into) == 1);
  CHECK(a[0] == 0x13);
  CHECK(c[0] == 0);
  munmap(area, 4 * page);
}
