// FlipWrites: the flip's writes are read back once, together, at the end of the stop. Our own
// process stands in for the target (the same kernel paths: /proc/PID/mem, process_vm_readv).
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "base/error.h"
#include "engine/flip.h"
#include "process/remote_memory.h"
#include "support/own_pages.h"

using namespace hotpatch;

TEST_CASE("FlipWrites checks every write once, the last one to each byte") {
  RemoteMemory memory(getpid());
  uint8_t* area = hotpatch::test::MapOwnPages(1);
  RemotePtr at(reinterpret_cast<uint64_t>(area));
  const uint8_t gate[] = {0xe9, 1, 2, 3, 4};
  const uint8_t replacement[] = {0xe9, 5, 6, 7, 8};
  const uint8_t flag[] = {1};
  FlipWrites writes(memory);
  writes.Write(at + 16, gate);
  writes.Write(at, flag);
  writes.Write(at + 16, replacement);  // the same entry again, as the flip does
  CHECK(std::memcmp(area + 16, replacement, sizeof replacement) == 0);
  CHECK_NOTHROW(writes.VerifyAll());
  munmap(area, sysconf(_SC_PAGESIZE));
}

TEST_CASE("FlipWrites names the bytes that did not stay as written") {
  RemoteMemory memory(getpid());
  uint8_t* area = hotpatch::test::MapOwnPages(1);
  RemotePtr at(reinterpret_cast<uint64_t>(area));
  const uint8_t entry[] = {0xe9, 1, 2, 3, 4};
  FlipWrites writes(memory);
  writes.Write(at + 32, entry);
  area[34] = 0xcc;  // what a wrong address computed elsewhere would look like
  try {
    writes.VerifyAll();
    FAIL("a changed byte passed the check");
  } catch (const Error& e) {
    std::string message = e.what();
    INFO(message);
    CHECK(e.code() == ErrorCode::kInternal);
    CHECK(message.find((at + 32).ToString()) != std::string::npos);
    CHECK(message.find(std::to_string(getpid())) != std::string::npos);
    CHECK(message.find("e9 01 cc 03 04") != std::string::npos);
  }
  munmap(area, sysconf(_SC_PAGESIZE));
}

// Text may be mapped execute-only: process_vm_readv refuses what the target could not read itself,
// and the check then reads through /proc/PID/mem like the write did.
TEST_CASE("FlipWrites reads back pages the target itself may not read") {
  RemoteMemory memory(getpid());
  size_t page = sysconf(_SC_PAGESIZE);
  uint8_t* area = hotpatch::test::MapOwnPages(2);
  RemotePtr at(reinterpret_cast<uint64_t>(area));
  REQUIRE(mprotect(area + page, page, PROT_NONE) == 0);
  const uint8_t first[] = {0x90, 0x90};
  const uint8_t second[] = {0xe9, 9, 9, 9, 9};
  FlipWrites writes(memory);
  writes.Write(at + 8, first);
  writes.Write(at + static_cast<int64_t>(page) + 8, second);
  CHECK_NOTHROW(writes.VerifyAll());
  munmap(area, 2 * page);
}
