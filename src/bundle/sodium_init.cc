#include "bundle/sodium_init.h"

#include <sodium.h>

#include <mutex>

#include "base/error.h"

namespace hotpatch::bundle {

void InitialiseSodium() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Returns 1 when already initialised (by another user in the process), -1 on failure.
    if (sodium_init() < 0) throw Error(ErrorCode::kInternal, "sodium_init failed");
  });
}

}  // namespace hotpatch::bundle
