// hotpatchctl's exit codes (design §7, a stable interface): scripts branch on them.
#pragma once

#include "base/error.h"

namespace hotpatch::ctl {

inline constexpr int kExitDone = 0;
inline constexpr int kExitError = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitBusy = 3;      // safety check did not pass before the deadline
inline constexpr int kExitMismatch = 4;  // bundle does not match the target
inline constexpr int kExitPermissionDenied = 5;
// apply --all-processes without --atomic: some processes run the patch now, others failed.
inline constexpr int kExitPartlyApplied = 6;
// apply --all-processes --atomic: a member failed, and the patch could not be reverted from every
// process this request had patched: some still run it.
inline constexpr int kExitRollbackFailed = 7;

inline int ExitCodeFor(ErrorCode code) {
  switch (code) {
    case ErrorCode::kBadRequest:
      return kExitUsage;
    case ErrorCode::kBusy:
      return kExitBusy;
    case ErrorCode::kMismatch:
      return kExitMismatch;
    case ErrorCode::kPermissionDenied:
      return kExitPermissionDenied;
    default:
      return kExitError;
  }
}

}  // namespace hotpatch::ctl
