// `fleet_apply`: one bundle, now, to every running process that maps its target module with its
// build-id — a fleet of VMX processes of one build. The processes are patched in parallel, each
// engine call start to finish on one worker thread (ptrace's rule), under the per-pid lock. With
// `atomic`, a fleet that does not end up running the patch everywhere by the deadline is put back
// as it was: the patch is reverted from the processes this request patched (never from those
// that had it before).
#pragma once

#include <chrono>
#include <cstdint>
#include <span>

#include "bundle/bundle.h"
#include "hotpatchd/pid_locks.h"
#include "proto/messages.h"

namespace hotpatch::daemon {

struct FleetApplyOptions {
  bundle::Placement placement = bundle::Placement::kAuto;
  // For the whole fleet: every apply must have passed its safety check by then. The rollback
  // gets a deadline of the same length of its own.
  std::chrono::milliseconds timeout{5000};
  bool atomic = false;
  bool scheduling_boost = true;
};

// `bundle` is `bundle_bytes` as read (and, by the caller, checked against the trusted keys).
// Throws Error(kNotFound) when no running process maps the module with the bundle's build-id.
// Every per-process failure is an outcome in the result, not an exception.
proto::FleetApplyResult ApplyToFleet(std::span<const uint8_t> bundle_bytes,
                                     const bundle::Bundle& bundle, const FleetApplyOptions& options,
                                     PidLocks& pid_locks);

// "3 applied, 1 already applied, 1 failed, ..." for the request log.
std::string SummarizeFleet(const proto::FleetApplyResult& result);

}  // namespace hotpatch::daemon
