// Counters `status` reports; updated by connection threads without a lock.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace hotpatch::daemon {

struct DaemonStats {
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  std::atomic<uint64_t> requests_served{0};  // requests answered, successfully or not
  std::atomic<uint64_t> in_flight{0};        // requests being handled right now
};

}  // namespace hotpatch::daemon
