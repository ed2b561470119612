#include "arch/x86_64/syscall_site.h"

#include <unistd.h>

#include <catch2/catch.hpp>

using hotpatch::RemotePtr;
using namespace hotpatch::x86_64;

TEST_CASE("FindSyscallInstruction skips 0f 05 inside other instructions") {
  const uint8_t code[] = {
      0xb8, 0x0f, 0x05, 0x00, 0x00,  // mov $0x50f,%eax — holds the bytes 0f 05
      0x0f, 0x05,                    // syscall
      0xc3,                          // ret
  };
  CHECK(FindSyscallInstruction(code, RemotePtr(0x1000)) == RemotePtr(0x1005));
  CHECK_FALSE(FindSyscallInstruction(std::span(code).first(5), RemotePtr(0x1000)));
  // After a byte that does not decode (06), instruction boundaries are unknown.
  const uint8_t after_garbage[] = {0x90, 0x06, 0x0f, 0x05};
  CHECK_FALSE(FindSyscallInstruction(after_garbage, RemotePtr(0x1000)));
}

TEST_CASE("FindSyscallInstruction finds the syscall in libc's syscall()") {
  // Our own process's libc, read in place: the same bytes a tracee maps.
  const auto* function = reinterpret_cast<const uint8_t*>(&::syscall);
  std::span<const uint8_t> code(function, 64);
  const RemotePtr address(reinterpret_cast<uintptr_t>(function));
  std::optional<RemotePtr> found = FindSyscallInstruction(code, address);
  REQUIRE(found);
  size_t offset = size_t(*found - address);
  REQUIRE(offset + 2 <= code.size());
  CHECK(code[offset] == 0x0f);
  CHECK(code[offset + 1] == 0x05);
}
