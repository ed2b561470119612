// Reading and writing a tracee's memory in bulk: one system call per region, never word by word.
//
// Reads use process_vm_readv (no ptrace stop needed, no page-cache pollution). It refuses pages
// the tracee cannot read itself (PROT_NONE, execute-only); TryRead reports how much it got, and
// Read falls back to /proc/PID/mem, which reads with FOLL_FORCE like a debugger.
// Writes go through /proc/PID/mem: the kernel's FOLL_FORCE path writes through read-only text
// (copy-on-write of the private file mapping), so we never mprotect the target's code.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>
#include <type_traits>
#include <vector>

#include "base/remote_ptr.h"
#include "base/unique_fd.h"

namespace hotpatch {

class RemoteMemory {
 public:
  // Opens /proc/PID/mem for reading and writing. Throws kNoSuchProcess / kPermissionDenied.
  explicit RemoteMemory(pid_t pid);

  pid_t pid() const { return pid_; }

  // Reads up to out.size() bytes at `address` with process_vm_readv; returns the number read
  // (short at the first unreadable page). Never throws for unreadable memory.
  size_t TryRead(RemotePtr address, std::span<uint8_t> out) const;
  // Reads the scattered regions `from[i]` into `into[i]` (same sizes) with one process_vm_readv,
  // in order, up to the first one not wholly readable. Returns how many were read whole: the
  // stack tops of every stopped thread for the price of one system call and one mmap lock.
  size_t TryReadScattered(std::span<const RemoteRange> from, std::span<uint8_t* const> into) const;
  // Reads exactly out.size() bytes or throws an Error naming pid, address and size.
  void Read(RemotePtr address, std::span<uint8_t> out) const;
  std::vector<uint8_t> Read(RemotePtr address, size_t size) const;
  template <typename T>
  T ReadValue(RemotePtr address) const {
    static_assert(std::is_trivially_copyable_v<T>);
    T value;
    Read(address, std::span(reinterpret_cast<uint8_t*>(&value), sizeof value));
    return value;
  }

  // Writes all of `bytes` at `address` in one pwrite, or throws naming pid, address and size.
  void Write(RemotePtr address, std::span<const uint8_t> bytes) const;
  template <typename T>
  void WriteValue(RemotePtr address, const T& value) const {
    static_assert(std::is_trivially_copyable_v<T>);
    Write(address, std::span(reinterpret_cast<const uint8_t*>(&value), sizeof value));
  }

 private:
  pid_t pid_;
  UniqueFd mem_fd_;
};

}  // namespace hotpatch
