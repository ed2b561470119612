#include "unwind/stop_memory_cache.h"

#include <cstring>

#include "base/error.h"

namespace hotpatch::unwind {

const StopMemoryCache::Page& StopMemoryCache::PageAt(uint64_t page_address) {
  auto found = pages_.find(page_address);
  if (found != pages_.end()) return *found->second;
  auto page = std::make_unique<Page>();
  std::span<uint8_t> bytes(page->bytes, kPageSize);
  if (memory_.TryRead(RemotePtr(page_address), bytes) == kPageSize) {
    page->readable = true;
  } else {
    // process_vm_readv refuses pages the tracee could not read itself (execute-only text,
    // PROT_NONE guard pages); /proc/PID/mem reads those like a debugger. An unmapped page throws.
    try {
      memory_.Read(RemotePtr(page_address), bytes);
      page->readable = true;
    } catch (const Error&) {
      page->readable = false;
    }
  }
  return *pages_.emplace(page_address, std::move(page)).first->second;
}

bool StopMemoryCache::TryReadBytes(RemotePtr address, void* out, size_t size) {
  auto* dst = static_cast<uint8_t*>(out);
  uint64_t at = address.value();
  while (size > 0) {
    uint64_t page_address = at & ~(kPageSize - 1);
    const Page& page = PageAt(page_address);
    if (!page.readable) return false;
    size_t offset = at - page_address;
    size_t chunk = std::min<size_t>(size, kPageSize - offset);
    std::memcpy(dst, page.bytes + offset, chunk);
    dst += chunk;
    at += chunk;
    size -= chunk;
  }
  return true;
}

std::optional<uint64_t> StopMemoryCache::TryReadWord(RemotePtr address) {
  uint64_t value;
  if (!TryReadBytes(address, &value, sizeof value)) return std::nullopt;
  return value;
}

}  // namespace hotpatch::unwind
