#include "unwind/stop_memory_cache.h"

#include <algorithm>
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

void StopMemoryCache::Prefetch(std::vector<uint64_t> page_addresses) {
  std::sort(page_addresses.begin(), page_addresses.end());
  page_addresses.erase(std::unique(page_addresses.begin(), page_addresses.end()),
                       page_addresses.end());
  std::erase_if(page_addresses, [&](uint64_t page) {
    uint8_t probe;
    return pages_.contains(page) || TryCopyLasting(page, &probe, 1);
  });
  while (!page_addresses.empty()) {
    std::vector<std::unique_ptr<Page>> pages;
    std::vector<RemoteRange> from;
    std::vector<uint8_t*> into;
    for (uint64_t address : page_addresses) {
      pages.push_back(std::make_unique<Page>());
      from.push_back({RemotePtr(address), RemotePtr(address + kPageSize)});
      into.push_back(pages.back()->bytes);
    }
    size_t read = memory_.TryReadScattered(from, into);
    for (size_t i = 0; i < read; ++i) {
      pages[i]->readable = true;
      pages_.emplace(page_addresses[i], std::move(pages[i]));
    }
    // Skip the page that stopped the batch; PageAt tries it the slow way if a word needs it.
    page_addresses.erase(page_addresses.begin(),
                         page_addresses.begin() + std::min(read + 1, page_addresses.size()));
  }
}

void StopMemoryCache::KeepLasting(RemoteRange range) {
  LastingRegion region;
  region.begin = range.begin.value();
  region.bytes.resize(range.size());
  region.bytes.resize(memory_.TryRead(range.begin, region.bytes));
  if (!region.bytes.empty()) lasting_.push_back(std::move(region));
  ++lasting_generation_;
}

bool StopMemoryCache::TryCopyLasting(uint64_t address, uint8_t* out, size_t size) const {
  for (const LastingRegion& region : lasting_) {
    if (address < region.begin || address - region.begin > region.bytes.size() ||
        region.bytes.size() - (address - region.begin) < size)
      continue;
    std::memcpy(out, region.bytes.data() + (address - region.begin), size);
    return true;
  }
  return false;
}

bool StopMemoryCache::TryReadBytes(RemotePtr address, void* out, size_t size) {
  auto* dst = static_cast<uint8_t*>(out);
  uint64_t at = address.value();
  if (TryCopyLasting(at, dst, size)) return true;
  ++reads_outside_lasting_;
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
