// The engine's public interface, shared by hotpatchd, hotpatchctl and the tests. One call runs
// start to finish on the calling thread: ptrace requests for a tracee are only accepted from the
// thread that attached it (design §6 "The tracer is a thread").
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "engine/patch_record.h"

namespace hotpatch {

struct ApplyOptions {
  bundle::Placement placement =
      bundle::Placement::kAuto;             // kAuto: the bundle's preference, else smallest
  std::chrono::milliseconds timeout{5000};  // until the safety check must have passed
  // While stopping, raise threads that have not stopped yet to SCHED_FIFO 1, and the engine's own
  // thread to SCHED_FIFO 2 from the first PTRACE_INTERRUPT to the last PTRACE_CONT (every exact
  // attribute restored before the target runs on; issue 6). Off for targets whose operators forbid
  // any change of scheduling, even for microseconds (hotpatchd --no-scheduling-boost).
  bool scheduling_boost = true;
};

// Where the pause of the stop that acted went (the stops that found a thread busy and backed off
// are in pause_us only). The four parts add up to that stop's pause.
struct PauseBreakdown {
  uint64_t stop_us = 0;    // first PTRACE_INTERRUPT -> every thread stopped, registers read
  uint64_t unwind_us = 0;  // the safety check's stack walks
  uint64_t write_us = 0;   // the action: the flip's writes (and a revert's restore, if inside)
  uint64_t resume_us = 0;  // -> last PTRACE_CONT
};

struct ApplyResult {
  std::string patch_id;
  pid_t pid = 0;
  std::string placement;               // "reserved" | "dead" | "mapping"
  std::vector<std::string> functions;  // replaced functions
  int attempts = 0;                    // stops needed until the safety check passed
  uint64_t pause_us = 0;               // total time the target was stopped
  PauseBreakdown pause_breakdown;      // of the flip's stop (and the first apply's mapping stop)
  bool already_applied = false;        // the same bundle was applied before: nothing done
};

struct RevertOptions {
  std::optional<std::string> patch_id;  // nullopt: the newest patch
  bool all = false;                     // every patch, newest first
  std::chrono::milliseconds timeout{5000};
  bool scheduling_boost = true;  // as ApplyOptions::scheduling_boost
};

struct RevertResult {
  pid_t pid = 0;
  std::vector<std::string> reverted;  // patch ids, in the order reverted
  int attempts = 0;
  uint64_t pause_us = 0;
  PauseBreakdown pause_breakdown;  // of the stops that flipped, summed over the patches reverted
};

// What `list` shows of one patch. `effective_state` is what the target does now: "applied", or
// "not applied" for a record an interrupted engine left behind before its commit point.
struct ListedPatch {
  PatchRecord record;
  std::string effective_state;
};

// Applies a bundle (its bytes, already read by the caller) to process `pid`.
// Errors: kBadBundle, kMismatch (build-id, expected bytes, already applied with other content),
// kBusy (safety check did not pass before the timeout; the message names threads and functions),
// kNoSuchProcess, kPermissionDenied, kUnsupported (relocation, entry, placement that does not fit).
ApplyResult ApplyBundle(pid_t pid, std::span<const uint8_t> bundle_bytes,
                        const ApplyOptions& options);

// Reverts the newest patch, a named one (only when no newer patch overrides one of its
// functions), or all of them newest first.
RevertResult RevertPatches(pid_t pid, const RevertOptions& options);

// Reads the registry of `pid` without stopping it.
std::vector<ListedPatch> ListPatches(pid_t pid);

}  // namespace hotpatch
