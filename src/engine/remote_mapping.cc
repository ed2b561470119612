#include "engine/remote_mapping.h"

#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "base/hex.h"
#include "process/maps.h"
#include "process/process_attachment.h"
#include "process/remote_syscall.h"

namespace hotpatch {

namespace {

constexpr uint64_t kPage = 4096;
// The x86-64 user address space with 4-level paging ends below 0x7fff'ffff'f000; we stay under it
// even on 5-level machines, where mmap also stays below it unless asked for more.
constexpr uint64_t kUserSpaceEnd = 0x7fff'ffff'f000;
constexpr uint64_t kLowestMapping = 0x10000;  // at or above the usual vm.mmap_min_addr

uint64_t RoundUp(uint64_t value, uint64_t to) { return (value + to - 1) / to * to; }

// Lowest hole of `size` bytes inside `window`, preferring the one nearest to the window's middle
// (the module), so that both the module's code and its neighbours stay in rel32 reach.
std::optional<RemotePtr> FindHole(pid_t pid, uint64_t size, RemoteRange window) {
  auto mappings = ReadMappings(pid);
  std::sort(mappings.begin(), mappings.end(),
            [](const Mapping& a, const Mapping& b) { return a.range.begin < b.range.begin; });
  uint64_t middle = window.begin.value() + window.size() / 2;
  std::optional<RemotePtr> best;
  uint64_t best_distance = UINT64_MAX;
  uint64_t previous_end = kLowestMapping;
  auto consider = [&](uint64_t hole_begin, uint64_t hole_end) {
    // Leave a guard page on each side so the mapping never merges with a neighbour's VMA.
    hole_begin = std::max(hole_begin + kPage, window.begin.value());
    hole_end = std::min(hole_end > kPage ? hole_end - kPage : 0, window.end.value());
    if (hole_end <= hole_begin || hole_end - hole_begin < size) return;
    // The candidate nearest to the middle within this hole.
    uint64_t candidate = std::clamp(RoundUp(middle, kPage), hole_begin, hole_end - size);
    candidate = candidate / kPage * kPage;
    if (candidate < hole_begin) candidate = RoundUp(hole_begin, kPage);
    if (candidate + size > hole_end) return;
    uint64_t distance = candidate > middle ? candidate - middle : middle - candidate;
    if (distance < best_distance) {
      best_distance = distance;
      best = RemotePtr(candidate);
    }
  };
  for (const auto& m : mappings) {
    if (m.range.begin.value() > previous_end) consider(previous_end, m.range.begin.value());
    previous_end = std::max(previous_end, m.range.end.value());
  }
  if (previous_end < kUserSpaceEnd) consider(previous_end, kUserSpaceEnd);
  return best;
}

// Scratch space for syscall arguments that are strings: below the borrowed thread's stack pointer
// and its 128-byte red zone (psABI §3.2.2), which nothing live occupies while the thread is
// stopped. The bytes are restored afterwards.
class StackScratch {
 public:
  StackScratch(ProcessAttachment& process, pid_t tid, const std::string& text)
      : process_(process) {
    RemotePtr sp;
    for (const auto& t : process.threads())
      if (t.tid == tid) sp = RemotePtr(t.regs.rsp);
    address_ = RemotePtr((sp.value() - 128 - 512) & ~uint64_t{15});
    saved_ = process.memory().Read(address_, text.size() + 1);
    std::vector<uint8_t> bytes(text.begin(), text.end());
    bytes.push_back(0);
    process.memory().Write(address_, bytes);
  }
  ~StackScratch() {
    try {
      process_.memory().Write(address_, saved_);
    } catch (...) {
      // The thread's stack below sp holds no live data; failing to restore is harmless.
    }
  }
  RemotePtr address() const { return address_; }

 private:
  ProcessAttachment& process_;
  RemotePtr address_;
  std::vector<uint8_t> saved_;
};

std::string SyscallFailure(const char* call, long result, pid_t pid) {
  return std::string(call) + " in pid " + std::to_string(pid) + " failed: " +
         std::string(strerror(static_cast<int>(-result)));
}

}  // namespace

RemoteRange Rel32Window(RemoteRange range) {
  constexpr uint64_t kReach = (uint64_t{1} << 31) - kPage;
  uint64_t low = range.end.value() > kReach ? range.end.value() - kReach : kLowestMapping;
  uint64_t high = std::min(range.begin.value() + kReach, kUserSpaceEnd);
  return {RemotePtr(std::max(low, kLowestMapping)), RemotePtr(high)};
}

RemoteRange CreateNamedMapping(ProcessAttachment& process, const std::string& name, uint64_t size,
                               int prot, std::optional<RemoteRange> window) {
  size = RoundUp(size, kPage);
  pid_t pid = process.pid();
  pid_t tid = process.threads().front().tid;
  RemotePtr hint;
  int flags = MAP_PRIVATE;
  if (window) {
    auto hole = FindHole(pid, size, *window);
    if (!hole)
      throw Error(ErrorCode::kUnsupported,
                  "no free address range of " + std::to_string(size) + " bytes within " +
                      window->begin.ToString() + "-" + window->end.ToString() + " in pid " +
                      std::to_string(pid) + " (needed for rel32 reach)");
    hint = *hole;
    // MAP_FIXED_NOREPLACE (Linux 4.17): fail instead of clobbering a mapping that appeared since
    // we read /proc/PID/maps.
    flags |= MAP_FIXED_NOREPLACE;
  }

  RemoteSyscall syscall(process, tid, process.syscall_instruction());
  long fd;
  {
    StackScratch name_string(process, tid, name);
    fd = syscall.Call(SYS_memfd_create, static_cast<long>(name_string.address().value()),
                      MFD_CLOEXEC);
  }
  if (fd < 0) throw Error(ErrorCode::kInternal, SyscallFailure("memfd_create", fd, pid));
  long result = syscall.Call(SYS_ftruncate, fd, static_cast<long>(size));
  long address = -1;
  if (result == 0)
    address = syscall.Call(SYS_mmap, static_cast<long>(hint.value()), static_cast<long>(size),
                           prot, flags, fd, 0);
  // The mapping keeps the memfd alive; the target must not inherit a stray descriptor from us.
  syscall.Call(SYS_close, fd);
  if (result != 0) throw Error(ErrorCode::kInternal, SyscallFailure("ftruncate", result, pid));
  if (address < 0 && address > -4096)
    throw Error(ErrorCode::kInternal, SyscallFailure("mmap", address, pid));
  RemoteRange range{RemotePtr(static_cast<uint64_t>(address)),
                    RemotePtr(static_cast<uint64_t>(address) + size)};
  if (window && (range.begin < window->begin || range.end > window->end)) {
    // Kernels before 4.17 ignore MAP_FIXED_NOREPLACE and treat the address as a mere hint.
    RemoveMapping(process, range);
    throw Error(ErrorCode::kUnsupported, "mmap in pid " + std::to_string(pid) + " placed " +
                                             range.begin.ToString() +
                                             " outside the rel32 window; kernel too old?");
  }
  return range;
}

void RemoveMapping(ProcessAttachment& process, RemoteRange range) {
  pid_t tid = process.threads().front().tid;
  RemoteSyscall syscall(process, tid, process.syscall_instruction());
  long result = syscall.Call(SYS_munmap, static_cast<long>(range.begin.value()),
                             static_cast<long>(range.size()));
  if (result != 0) throw Error(ErrorCode::kInternal, SyscallFailure("munmap", result, process.pid()));
}

}  // namespace hotpatch
