#include "hotpatchd/fleet_apply.h"

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <system_error>
#include <thread>

#include "base/hex.h"
#include "engine/engine.h"
#include "hotpatchd/module_processes.h"
#include "hotpatchd/patched_processes.h"

namespace hotpatch::daemon {
namespace {

using Clock = std::chrono::steady_clock;

// Enough to patch a fleet of this size in one round; the threads mostly wait for the kernel
// (stops, /proc/PID/mem), so more than the cores is right, and a bound keeps a huge fleet from
// costing a thread per process.
constexpr size_t kMaxWorkerThreads = 64;

// Runs job(0) ... job(count - 1) on up to kMaxWorkerThreads threads; each job runs entirely on
// one thread. `job` must not throw.
void ForEachInParallel(size_t count, const std::function<void(size_t)>& job) {
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next++; i < count; i = next++) job(i);
  };
  std::vector<std::thread> threads;
  try {
    for (size_t t = 0; t < std::min(count, kMaxWorkerThreads); ++t) threads.emplace_back(work);
  } catch (const std::system_error&) {
    // Out of threads: the ones that started take the rest of the queue.
  }
  if (threads.empty()) work();
  for (auto& thread : threads) thread.join();
}

std::chrono::milliseconds Remaining(Clock::time_point deadline) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
}

void RecordFailure(proto::FleetMember& member, const Error& e, const char* failed_outcome) {
  // A process that ended is not running unpatched code: it leaves the fleet, nothing failed.
  member.outcome = e.code() == ErrorCode::kNoSuchProcess ? "exited" : failed_outcome;
  if (member.outcome == "exited") return;
  member.error = std::string(ErrorCodeName(e.code()));
  member.message = e.what();
}

void ApplyToMember(proto::FleetMember& member, std::span<const uint8_t> bytes,
                   const FleetApplyOptions& options, Clock::time_point deadline,
                   PidLocks& pid_locks) {
  try {
    PidLocks::Hold hold(pid_locks, member.pid, deadline);
    auto left = Remaining(deadline);
    if (left.count() <= 0)
      throw Error(ErrorCode::kBusy, "pid " + std::to_string(member.pid) +
                                        ": the fleet's deadline passed before it was tried");
    ApplyOptions apply;
    apply.placement = options.placement;
    apply.timeout = left;
    apply.scheduling_boost = options.scheduling_boost;
    ApplyResult result = ApplyBundle(member.pid, bytes, apply);
    member.outcome = result.already_applied ? "already_applied" : "applied";
    member.placement = result.placement;
    member.attempts = result.attempts;
    member.pause_us = result.pause_us;
  } catch (const Error& e) {
    RecordFailure(member, e, "failed");
  } catch (const std::exception& e) {
    RecordFailure(member, Error(ErrorCode::kInternal, e.what()), "failed");
  }
}

void RollBackMember(proto::FleetMember& member, const std::string& patch_id,
                    const FleetApplyOptions& options, Clock::time_point deadline,
                    PidLocks& pid_locks) {
  try {
    PidLocks::Hold hold(pid_locks, member.pid, deadline);
    RevertOptions revert;
    revert.patch_id = patch_id;
    revert.timeout = std::max(Remaining(deadline), std::chrono::milliseconds(1));
    revert.scheduling_boost = options.scheduling_boost;
    RevertResult result = RevertPatches(member.pid, revert);
    member.outcome = "rolled_back";
    member.pause_us += result.pause_us;
  } catch (const Error& e) {
    RecordFailure(member, e, "rollback_failed");
  } catch (const std::exception& e) {
    RecordFailure(member, Error(ErrorCode::kInternal, e.what()), "rollback_failed");
  }
}

bool Failed(const proto::FleetMember& member) {
  return member.outcome == "failed";
}

}  // namespace

proto::FleetApplyResult ApplyToFleet(std::span<const uint8_t> bundle_bytes,
                                     const bundle::Bundle& bundle, const FleetApplyOptions& options,
                                     PidLocks& pid_locks) {
  auto deadline = Clock::now() + options.timeout;
  proto::FleetApplyResult result;
  result.patch_id = bundle.patch_id;
  result.target_module = bundle.target_module;
  result.target_build_id = HexDigits(bundle.target_build_id);
  result.atomic = options.atomic;
  for (pid_t pid : FindProcessesMappingModule(bundle.target_module, result.target_build_id))
    result.processes.push_back({pid, ProcessCommand(pid), "", "", 0, 0, "", ""});
  if (result.processes.empty())
    throw Error(ErrorCode::kNotFound, "no running process maps " + bundle.target_module +
                                          " with build-id " + result.target_build_id);

  auto& members = result.processes;
  ForEachInParallel(members.size(), [&](size_t i) {
    ApplyToMember(members[i], bundle_bytes, options, deadline, pid_locks);
  });
  if (!options.atomic || std::none_of(members.begin(), members.end(), Failed)) return result;

  // Not everywhere by the deadline: undo what this request did. "already_applied" members had
  // the patch before and keep it.
  std::vector<proto::FleetMember*> applied;
  for (auto& member : members)
    if (member.outcome == "applied") applied.push_back(&member);
  auto rollback_deadline = Clock::now() + options.timeout;
  ForEachInParallel(applied.size(), [&](size_t i) {
    RollBackMember(*applied[i], bundle.patch_id, options, rollback_deadline, pid_locks);
  });
  return result;
}

std::string SummarizeFleet(const proto::FleetApplyResult& result) {
  std::map<std::string, int> counts;
  for (const auto& member : result.processes) ++counts[member.outcome];
  std::string summary = std::to_string(result.processes.size()) + " process(es)";
  for (const auto& [outcome, count] : counts)
    summary += ", " + std::to_string(count) + " " + outcome;
  return summary + (result.atomic ? " (atomic)" : "");
}

}  // namespace hotpatch::daemon
