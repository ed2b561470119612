// FindSyscallInstruction (declared in remote_syscall.h).
#include <algorithm>
#include <optional>
#include <vector>

#include "base/error.h"
#include "process/maps.h"
#include "process/remote_syscall.h"

namespace hotpatch {

namespace {

// Lower is searched first. libc's text is always mapped in a target we patch and is full of
// syscall instructions; the vDSO has one in its fallback paths; anything else is a last resort.
int SearchOrder(const Mapping& mapping) {
  if (mapping.path.find("/libc.so") != std::string::npos ||
      mapping.path.find("/libc-") != std::string::npos) {
    return 0;
  }
  if (mapping.path == "[vdso]") return 1;
  return 2;
}

std::optional<RemotePtr> FindInRange(const RemoteMemory& memory, RemoteRange range) {
  constexpr size_t kChunk = 64 * 1024;
  std::vector<uint8_t> bytes;
  for (RemotePtr at = range.begin; at < range.end;) {
    size_t size = std::min<uint64_t>(kChunk, range.end - at);
    bytes.resize(size);
    size_t got = memory.TryRead(at, bytes);
    for (size_t i = 0; i + 1 < got; ++i) {
      if (bytes[i] == 0x0f && bytes[i + 1] == 0x05) return at + static_cast<int64_t>(i);
    }
    if (got < size) return std::nullopt;  // unreadable from here on
    // Overlap by one byte so an instruction split across chunks is found.
    at = at + static_cast<int64_t>(size > 1 ? size - 1 : size);
    if (size <= 1) break;
  }
  return std::nullopt;
}

}  // namespace

RemotePtr FindSyscallInstruction(pid_t pid, const RemoteMemory& memory) {
  std::vector<Mapping> executable;
  for (Mapping& mapping : ReadMappings(pid)) {
    if (mapping.executable && mapping.readable) executable.push_back(std::move(mapping));
  }
  std::stable_sort(executable.begin(), executable.end(), [](const Mapping& a, const Mapping& b) {
    return SearchOrder(a) < SearchOrder(b);
  });
  for (const Mapping& mapping : executable) {
    if (auto found = FindInRange(memory, mapping.range)) return *found;
  }
  throw Error(
      ErrorCode::kNotFound,
      "no syscall instruction (0f 05) in the executable mappings of pid " + std::to_string(pid));
}

}  // namespace hotpatch
