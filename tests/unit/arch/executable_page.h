// A local read-write-execute page for running emitted code in the test process itself: the
// arch layer only sees bytes and addresses, so "the tracee" may as well be us.
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>

#include "base/remote_ptr.h"

namespace hotpatch::x86_64::testing {

class ExecutablePage {
 public:
  static constexpr size_t kSize = 4096;

  ExecutablePage() {
    memory_ = mmap(nullptr, kSize, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS,
                   -1, 0);
    if (memory_ == MAP_FAILED) throw std::runtime_error("mmap of an RWX page failed");
    // int3 everywhere: a wrong jump traps instead of sliding into other code.
    std::memset(memory_, 0xcc, kSize);
  }
  ~ExecutablePage() { munmap(memory_, kSize); }
  ExecutablePage(const ExecutablePage&) = delete;
  ExecutablePage& operator=(const ExecutablePage&) = delete;

  RemotePtr At(size_t offset) const {
    return RemotePtr(reinterpret_cast<uintptr_t>(memory_) + offset);
  }

  void Write(RemotePtr at, std::span<const uint8_t> bytes) {
    uint64_t offset = at.value() - reinterpret_cast<uintptr_t>(memory_);
    if (offset + bytes.size() > kSize) throw std::out_of_range("write beyond the page");
    std::memcpy(static_cast<uint8_t*>(memory_) + offset, bytes.data(), bytes.size());
  }

  std::span<const uint8_t> Bytes(RemotePtr at, size_t size) const {
    return {reinterpret_cast<const uint8_t*>(at.value()), size};
  }

  template <typename Function>
  Function* FunctionAt(RemotePtr at) const {
    return reinterpret_cast<Function*>(at.value());
  }

 private:
  void* memory_ = nullptr;
};

}  // namespace hotpatch::x86_64::testing
