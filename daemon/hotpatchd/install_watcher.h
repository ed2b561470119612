// Keeps installed bundles applied: a thread that finds every process mapping an installed
// bundle's target module (by build-id) and applies the bundle there — to processes running at
// install time and to processes started later. New processes are noticed through exec events
// where the kernel provides them, else by scanning /proc every kScanInterval. A busy target is
// retried with exponential back-off; a target whose bytes do not match is given up (`failed`).
//
// All engine calls run on the watcher's own thread, start to finish (ptrace's rule), under the
// same per-pid lock as requests, so an install never races an apply or revert on that process.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "base/unique_fd.h"
#include "hotpatchd/installed_bundles.h"
#include "hotpatchd/pid_locks.h"
#include "hotpatchd/request_log.h"
#include "proto/messages.h"

namespace hotpatch::daemon {

class InstallWatcher {
 public:
  static constexpr std::chrono::milliseconds kScanInterval{200};

  // `scheduling_boost`: ApplyOptions::scheduling_boost of every apply (hotpatchd
  // --no-scheduling-boost turns it off).
  InstallWatcher(InstalledBundles& bundles, PidLocks& pid_locks, RequestLog& log,
                 bool scheduling_boost);
  InstallWatcher(const InstallWatcher&) = delete;
  InstallWatcher& operator=(const InstallWatcher&) = delete;
  ~InstallWatcher();  // stops the thread after the pass in progress

  // Start a scan now (after an install) instead of at the next interval.
  void Wake();

  // Waits until no pass is applying anything, then forgets every target of `patch_id`; a pass
  // that starts afterwards no longer sees the bundle (InstalledBundles::Uninstall came first).
  void ForgetPatch(const std::string& patch_id);

  // Where each installed bundle stands in each process mapping its module.
  std::vector<proto::InstalledBundle> Describe() const;

 private:
  // A process is its pid and start time: a pid reused by a new process is a new target.
  struct ProcessKey {
    pid_t pid = 0;
    uint64_t start_ticks = 0;
    auto operator<=>(const ProcessKey&) const = default;
  };
  struct TargetStatus {
    std::string state;  // "applied" | "pending" | "retrying" | "failed"
    std::string message;
    std::chrono::steady_clock::time_point next_try;
    std::chrono::milliseconds backoff{0};
  };
  struct ScannedProcess {
    std::chrono::steady_clock::time_point next_maps_check;
  };

  void Run();
  void ScanOnce();
  void ConsiderProcess(const ProcessKey& process,
                       const std::vector<std::shared_ptr<const InstalledBundleFile>>& bundles);
  // Returns the status after one try (or finding it applied already).
  TargetStatus ApplyTo(const ProcessKey& process, const InstalledBundleFile& bundle,
                       TargetStatus status);

  InstalledBundles& bundles_;
  PidLocks& pid_locks_;
  RequestLog& log_;
  const bool scheduling_boost_;

  mutable std::mutex mutex_;  // guards statuses_
  std::atomic<bool> stop_{false};
  // (patch id, process) -> status; only for processes that map the bundle's module.
  std::map<std::pair<std::string, ProcessKey>, TargetStatus> statuses_;

  std::mutex pass_mutex_;                         // held by a pass; ForgetPatch waits for it
  std::map<ProcessKey, ScannedProcess> scanned_;  // only touched by the thread
  UniqueFd wake_event_;                           // eventfd: Wake() and stop reach poll()
  std::thread thread_;
};

}  // namespace hotpatch::daemon
