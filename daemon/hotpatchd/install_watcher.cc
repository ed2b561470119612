#include "hotpatchd/install_watcher.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "engine/engine.h"
#include "hotpatchd/exec_events.h"
#include "hotpatchd/module_processes.h"
#include "hotpatchd/patched_processes.h"
#include "process/modules.h"

namespace hotpatch::daemon {
namespace {

using Clock = std::chrono::steady_clock;

// The exec event comes before the dynamic loader has mapped the libraries the patch may call
// into (its external symbols are resolved in the target at apply time): let the process start.
constexpr std::chrono::milliseconds kMinimumProcessAge{100};
// A process that does not map the module now may dlopen it later; look again this often.
constexpr std::chrono::milliseconds kMapsRecheckInterval{2000};
// How long one try may wait for the safety check: the watcher serves every target in turn.
constexpr std::chrono::milliseconds kApplyTimeout{1000};
constexpr std::chrono::milliseconds kFirstBackoff{200};
constexpr std::chrono::milliseconds kMaxBackoff{10000};

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Field 22 of /proc/PID/stat (starttime, clock ticks after boot), read after the last ')' since
// the command name may contain anything.
std::optional<uint64_t> StartTicks(pid_t pid) {
  std::string stat = ReadSmallFile("/proc/" + std::to_string(pid) + "/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 2));
  std::string field;
  for (int i = 3; i <= 22; ++i)
    if (!(fields >> field)) return std::nullopt;
  return std::strtoull(field.c_str(), nullptr, 10);
}

std::chrono::milliseconds UptimeNow() {
  double seconds = std::strtod(ReadSmallFile("/proc/uptime").c_str(), nullptr);
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

bool RetryWorthy(ErrorCode code) {
  // Busy passes with time; an internal failure may be a process in the middle of starting. A
  // mismatch, a bad bundle or an unsupported placement stays what it is, and a process that is
  // gone (or a zombie, still in /proc) never comes back.
  return code == ErrorCode::kBusy || code == ErrorCode::kInternal || code == ErrorCode::kNotFound;
}

}  // namespace

InstallWatcher::InstallWatcher(InstalledBundles& bundles, PidLocks& pid_locks, RequestLog& log,
                               bool scheduling_boost)
    : bundles_(bundles),
      pid_locks_(pid_locks),
      log_(log),
      scheduling_boost_(scheduling_boost),
      wake_event_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {
  if (!wake_event_.valid()) throw ErrnoError("eventfd");
  thread_ = std::thread([this] { Run(); });
}

InstallWatcher::~InstallWatcher() {
  stop_ = true;
  Wake();
  thread_.join();
}

void InstallWatcher::Wake() {
  uint64_t one = 1;
  (void)!write(wake_event_.get(), &one, sizeof one);
}

void InstallWatcher::Run() {
  ExecEvents exec_events;
  if (exec_events.available())
    log_.Note("installed patches: watching exec events, and /proc every " +
              std::to_string(kScanInterval.count()) + " ms");
  else
    log_.Note("installed patches: no exec events (" + exec_events.why() +
              "); scanning /proc every " + std::to_string(kScanInterval.count()) + " ms");
  while (!stop_) {
    try {
      ScanOnce();
    } catch (const std::exception& e) {
      log_.Note(std::string("installed patches: scan failed: ") + e.what(), true);
    }
    pollfd fds[2] = {{wake_event_.get(), POLLIN, 0}, {exec_events.fd(), POLLIN, 0}};
    int count = exec_events.available() ? 2 : 1;
    if (poll(fds, count, static_cast<int>(kScanInterval.count())) > 0) {
      uint64_t drained;
      (void)!read(wake_event_.get(), &drained, sizeof drained);
      if (exec_events.available()) exec_events.DrainSawExec();
    }
  }
}

void InstallWatcher::ScanOnce() {
  std::lock_guard pass(pass_mutex_);
  auto bundles = bundles_.Snapshot();
  if (bundles.empty()) {
    // Nothing installed: no reason to read /proc at all.
    scanned_.clear();
    std::lock_guard lock(mutex_);
    statuses_.clear();
    return;
  }
  std::vector<ProcessKey> processes;
  for (pid_t pid : AllPids())
    if (auto ticks = StartTicks(pid)) processes.push_back({pid, *ticks});
  std::sort(processes.begin(), processes.end());
  // Forget processes that are gone.
  std::erase_if(scanned_, [&](const auto& entry) {
    return !std::binary_search(processes.begin(), processes.end(), entry.first);
  });
  {
    std::lock_guard lock(mutex_);
    std::erase_if(statuses_, [&](const auto& entry) {
      return !std::binary_search(processes.begin(), processes.end(), entry.first.second);
    });
  }
  for (const auto& process : processes) {
    if (stop_) return;
    ConsiderProcess(process, bundles);
  }
}

void InstallWatcher::ConsiderProcess(
    const ProcessKey& process,
    const std::vector<std::shared_ptr<const InstalledBundleFile>>& bundles) {
  auto now = Clock::now();
  auto [scanned, is_new] = scanned_.try_emplace(process, ScannedProcess{now});
  bool maps_due = scanned->second.next_maps_check <= now;

  // Which bundles need a try now, and which need a look at the maps first.
  std::vector<std::pair<const InstalledBundleFile*, TargetStatus>> due;
  std::vector<const InstalledBundleFile*> unknown;
  {
    std::lock_guard lock(mutex_);
    for (const auto& bundle : bundles) {
      auto it = statuses_.find({bundle->patch_id, process});
      if (it == statuses_.end()) {
        if (maps_due) unknown.push_back(bundle.get());
      } else if ((it->second.state == "pending" || it->second.state == "retrying") &&
                 it->second.next_try <= now) {
        due.emplace_back(bundle.get(), it->second);
      }
    }
  }
  if (!unknown.empty()) {
    // Ticks are 10 ms at most; an unknown clock-tick rate cannot make this unsafe, only later.
    auto started = std::chrono::milliseconds(process.start_ticks * 1000 /
                                             static_cast<uint64_t>(sysconf(_SC_CLK_TCK)));
    if (UptimeNow() - started < kMinimumProcessAge) return;  // the next scan looks again
    scanned->second.next_maps_check = now + kMapsRecheckInterval;
    std::string maps = ReadSmallFile("/proc/" + std::to_string(process.pid) + "/maps");
    std::optional<std::vector<Module>> modules;
    for (const auto* bundle : unknown) {
      if (!MapsMentionModule(maps, bundle->target_module)) continue;
      try {
        if (!modules) modules = ReadModules(process.pid);
      } catch (const Error&) {
        return;  // gone, or not readable: nothing to patch
      }
      if (FindModuleByBuildId(*modules, bundle->target_build_id) == nullptr) continue;
      TargetStatus status{"pending", "", now, kFirstBackoff};
      {
        std::lock_guard lock(mutex_);
        statuses_[{bundle->patch_id, process}] = status;
      }
      due.emplace_back(bundle, status);
    }
  }
  for (auto& [bundle, status] : due) {
    if (stop_) return;
    TargetStatus after = ApplyTo(process, *bundle, status);
    std::lock_guard lock(mutex_);
    statuses_[{bundle->patch_id, process}] = after;
  }
}

InstallWatcher::TargetStatus InstallWatcher::ApplyTo(const ProcessKey& process,
                                                     const InstalledBundleFile& bundle,
                                                     TargetStatus status) {
  std::string where = "installed patch " + bundle.patch_id + ": pid " +
                      std::to_string(process.pid) + " (" + ProcessCommand(process.pid) + ")";
  try {
    PidLocks::Hold hold(pid_locks_, process.pid);
    // The registry in the target says whether an earlier daemon (or an apply) did it already;
    // reading it stops nothing.
    for (const auto& listed : ListPatches(process.pid))
      if (listed.record.patch_id == bundle.patch_id && listed.effective_state == "applied")
        return TargetStatus{"applied", "", {}, {}};
    ApplyOptions options;
    options.timeout = kApplyTimeout;
    options.scheduling_boost = scheduling_boost_;
    ApplyResult result = ApplyBundle(process.pid, bundle.bytes, options);
    log_.Note(where + ": applied, placement " + result.placement + ", " +
              std::to_string(result.attempts) + " attempt(s), paused " +
              std::to_string(result.pause_us) + " us");
    return TargetStatus{"applied", "", {}, {}};
  } catch (const Error& e) {
    if (!RetryWorthy(e.code())) {
      log_.Note(where + ": given up: " + e.what(), true);
      return TargetStatus{"failed", std::string(ErrorCodeName(e.code())) + ": " + e.what(), {}, {}};
    }
    auto backoff = std::min(status.backoff * 2, kMaxBackoff);
    log_.Note(where + ": retrying in " + std::to_string(status.backoff.count()) +
              " ms: " + e.what());
    return TargetStatus{"retrying", std::string(ErrorCodeName(e.code())) + ": " + e.what(),
                        Clock::now() + status.backoff, backoff};
  }
}

void InstallWatcher::ForgetPatch(const std::string& patch_id) {
  std::lock_guard pass(pass_mutex_);
  std::lock_guard lock(mutex_);
  std::erase_if(statuses_, [&](const auto& entry) { return entry.first.first == patch_id; });
}

std::vector<proto::InstalledBundle> InstallWatcher::Describe() const {
  auto bundles = bundles_.Snapshot();
  std::vector<proto::InstalledBundle> described;
  std::lock_guard lock(mutex_);
  for (const auto& bundle : bundles) {
    proto::InstalledBundle entry{
        bundle->patch_id, bundle->description, bundle->target_module, bundle->target_build_id, {}};
    for (const auto& [key, status] : statuses_)
      if (key.first == bundle->patch_id)
        entry.targets.push_back({key.second.pid, status.state, status.message});
    described.push_back(std::move(entry));
  }
  return described;
}

}  // namespace hotpatch::daemon
