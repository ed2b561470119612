#include "hotpatchd/request_handler.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>

#include "base/hex.h"
#include "bundle/bundle.h"
#include "common/bundle_file.h"
#include "common/bundle_summary.h"
#include "engine/engine.h"
#include "hotpatchd/caller_bundle_path.h"
#include "hotpatchd/fleet_apply.h"
#include "hotpatchd/patched_processes.h"

namespace hotpatch::daemon {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

std::vector<uint8_t> ReadRequestBundle(const proto::BundleSource& source,
                                       const CallerCredentials& caller, UniqueFd attached_fd) {
  if (source.attached_fd) {
    if (!attached_fd.valid())
      throw Error(ErrorCode::kBadRequest,
                  "field 'bundle_fd': true, but no descriptor came with the request (SCM_RIGHTS)");
    return ReadBundleFile(attached_fd.get(), "the bundle passed by " + DescribeCaller(caller));
  }
  UniqueFd fd = OpenCallerBundlePath(*source.path, caller);
  return ReadBundleFile(fd.get(), "bundle_path " + *source.path);
}

// A bundle that may change processes: read, parsed, and checked against the trusted keys.
struct CheckedBundle {
  std::vector<uint8_t> bytes;
  bundle::Bundle parsed;
};

CheckedBundle ReadCheckedBundle(const proto::BundleSource& source, const CallerCredentials& caller,
                                UniqueFd attached_fd, const TrustedKeys& trusted_keys,
                                RequestLogEntry& log) {
  std::vector<uint8_t> bytes = ReadRequestBundle(source, caller, std::move(attached_fd));
  bundle::Bundle parsed = bundle::ReadBundle(bytes);
  log.patch = parsed.patch_id;
  trusted_keys.RequireTrustedSignature(bytes, "bundle " + parsed.patch_id);
  return {std::move(bytes), std::move(parsed)};
}

bundle::Placement PlacementFromName(const std::string& name) {
  if (name == "reserved") return bundle::Placement::kReserved;
  if (name == "dead") return bundle::Placement::kDeadCode;
  if (name == "mapping") return bundle::Placement::kMapping;
  return bundle::Placement::kAuto;
}

void RefuseSelf(pid_t pid) {
  // ptrace cannot attach to one's own thread group; say so instead of an obscure EPERM.
  if (pid == getpid())
    throw Error(ErrorCode::kUnsupported, "pid " + std::to_string(pid) + " is hotpatchd itself");
}

void RequireProcess(pid_t pid) {
  if (kill(pid, 0) != 0 && errno == ESRCH)
    throw Error(ErrorCode::kNoSuchProcess, "no process with pid " + std::to_string(pid));
}

proto::ListedProcess DescribeProcess(pid_t pid) {
  proto::ListedProcess process{pid, ProcessCommand(pid), {}};
  for (const auto& listed : ListPatches(pid)) {
    const PatchRecord& r = listed.record;
    proto::ListedPatch patch;
    patch.patch_id = r.patch_id;
    patch.description = r.description;
    patch.state = PatchStateName(r.state);
    patch.effective_state = listed.effective_state;
    patch.placement = r.placement;
    patch.module = r.module_path;
    patch.build_id = r.build_id_hex;
    patch.checksum = r.checksum_hex;
    patch.applied_at_unix_us = r.applied_at_unix_us;
    for (const auto& f : r.functions) patch.functions.push_back(f.name);
    process.patches.push_back(std::move(patch));
  }
  return process;
}

// " (stop 120, unwind 80, write 14, resume 25 us)": where the pause went, for the journal (the
// protocol's responses keep their fields: strict clients refuse keys they do not know).
std::string DescribeBreakdown(const PauseBreakdown& b) {
  if (b.stop_us + b.unwind_us + b.write_us + b.resume_us == 0) return "";
  return " (stop " + std::to_string(b.stop_us) + ", unwind " + std::to_string(b.unwind_us) +
         ", write " + std::to_string(b.write_us) + ", resume " + std::to_string(b.resume_us) +
         " us)";
}

std::string JoinIds(const std::vector<std::string>& ids) {
  std::string joined;
  for (const auto& id : ids) joined += (joined.empty() ? "" : ",") + id;
  return joined;
}

}  // namespace

proto::Response RequestHandler::Handle(const proto::Request& request,
                                       const CallerCredentials& caller, UniqueFd attached_fd,
                                       RequestLogEntry& log) {
  try {
    return Dispatch(request, caller, std::move(attached_fd), log);
  } catch (const Error& e) {
    return proto::Response{proto::kProtocolVersion, proto::MakeErrorReply(e)};
  } catch (const std::exception& e) {
    return proto::Response{
        proto::kProtocolVersion,
        proto::ErrorReply{"internal", std::string("internal error: ") + e.what()}};
  }
}

proto::Response RequestHandler::Dispatch(const proto::Request& request,
                                         const CallerCredentials& caller, UniqueFd attached_fd,
                                         RequestLogEntry& log) {
  if (proto::ChangesProcess(request.body) && !MayChangeProcesses(caller, options_.admin_group)) {
    std::string who = options_.admin_group
                          ? "root or members of group '" + options_.admin_group_name + "'"
                          : "root";
    if (auto* apply = std::get_if<proto::ApplyRequest>(&request.body)) log.target_pid = apply->pid;
    if (auto* revert = std::get_if<proto::RevertRequest>(&request.body))
      log.target_pid = revert->pid;
    throw Error(ErrorCode::kPermissionDenied, std::string(proto::CommandName(request.body)) +
                                                  " is only allowed for " + who +
                                                  "; the caller is " + DescribeCaller(caller));
  }
  proto::ResponseBody body = std::visit(
      Overloaded{
          [&](const proto::ApplyRequest& r) -> proto::ResponseBody {
            log.target_pid = r.pid;
            RefuseSelf(r.pid);
            std::vector<uint8_t> bytes =
                ReadRequestBundle(r.bundle, caller, std::move(attached_fd));
            try {
              log.patch = bundle::ReadBundle(bytes).patch_id;  // for the log even if apply fails
            } catch (const Error&) {
            }
            trusted_keys_.RequireTrustedSignature(bytes, "bundle " + log.patch);
            ApplyOptions options;
            options.placement = PlacementFromName(r.placement);
            if (r.timeout_ms) options.timeout = std::chrono::milliseconds(*r.timeout_ms);
            options.scheduling_boost = options_.scheduling_boost;
            PidLocks::Hold hold(pid_locks_, r.pid);
            ApplyResult result = ApplyBundle(r.pid, bytes, options);
            log.patch = result.patch_id;
            log.detail = "placement " + result.placement + ", " + std::to_string(result.attempts) +
                         " attempt(s), paused " + std::to_string(result.pause_us) + " us" +
                         DescribeBreakdown(result.pause_breakdown) +
                         (result.already_applied ? ", already applied" : "");
            return proto::ApplyResult{result.patch_id,       result.pid,      result.placement,
                                      result.functions,      result.attempts, result.pause_us,
                                      result.already_applied};
          },
          [&](const proto::RevertRequest& r) -> proto::ResponseBody {
            log.target_pid = r.pid;
            if (r.patch_id) log.patch = *r.patch_id;
            RefuseSelf(r.pid);
            RevertOptions options;
            options.patch_id = r.patch_id;
            options.all = r.all;
            if (r.timeout_ms) options.timeout = std::chrono::milliseconds(*r.timeout_ms);
            options.scheduling_boost = options_.scheduling_boost;
            PidLocks::Hold hold(pid_locks_, r.pid);
            RevertResult result = RevertPatches(r.pid, options);
            log.patch = JoinIds(result.reverted);
            log.detail = std::to_string(result.attempts) + " attempt(s), paused " +
                         std::to_string(result.pause_us) + " us" +
                         DescribeBreakdown(result.pause_breakdown);
            return proto::RevertResult{result.pid, result.reverted, result.attempts,
                                       result.pause_us};
          },
          [&](const proto::ListRequest& r) -> proto::ResponseBody {
            if (r.pid) log.target_pid = *r.pid;
            return List(r.pid);
          },
          [&](const proto::StatusRequest&) -> proto::ResponseBody {
            auto uptime = std::chrono::steady_clock::now() - stats_.started;
            return proto::StatusResult{
                HOTPATCH_VERSION, getpid(),
                static_cast<uint64_t>(
                    std::chrono::duration_cast<std::chrono::seconds>(uptime).count()),
                stats_.requests_served.load(), stats_.in_flight.load()};
          },
          [&](const proto::InfoRequest& r) -> proto::ResponseBody {
            std::vector<uint8_t> bytes =
                ReadRequestBundle(r.bundle, caller, std::move(attached_fd));
            proto::InfoResult info = SummarizeBundle(bytes);
            log.patch = info.patch_id;
            return info;
          },
          [&](const proto::InstallRequest& r) -> proto::ResponseBody {
            auto [bytes, b] =
                ReadCheckedBundle(r.bundle, caller, std::move(attached_fd), trusted_keys_, log);
            bool added = installed_.Install(bytes);
            install_watcher_.Wake();
            log.detail = added ? "installed" : "already installed";
            return proto::InstallResult{b.patch_id, b.target_module, HexDigits(b.target_build_id),
                                        !added};
          },
          [&](const proto::FleetApplyRequest& r) -> proto::ResponseBody {
            auto [bytes, b] =
                ReadCheckedBundle(r.bundle, caller, std::move(attached_fd), trusted_keys_, log);
            FleetApplyOptions options;
            options.placement = PlacementFromName(r.placement);
            if (r.timeout_ms) options.timeout = std::chrono::milliseconds(*r.timeout_ms);
            options.atomic = r.atomic;
            options.scheduling_boost = options_.scheduling_boost;
            proto::FleetApplyResult result = ApplyToFleet(bytes, b, options, pid_locks_);
            log.detail = SummarizeFleet(result);
            return result;
          },
          [&](const proto::UninstallRequest& r) -> proto::ResponseBody {
            log.patch = r.patch_id;
            proto::UninstallResult result = Uninstall(r.patch_id);
            log.detail = "reverted from " + std::to_string(result.reverted_pids.size()) +
                         " process(es), " + std::to_string(result.failed.size()) + " failed";
            return result;
          }},
      request.body);
  return proto::Response{proto::kProtocolVersion, std::move(body)};
}

proto::ListedProcess RequestHandler::DescribeProcessSettled(pid_t pid) {
  // First without the pid lock: the registry is committed by switching its header to a complete
  // slot, so reading it while an apply runs shows the state before or after. But opening
  // /proc/PID/mem can fail (ESRCH) while another thread of ours holds the target stopped — the
  // install watcher retrying a busy target does that often — so then read again once that
  // engine call is over.
  try {
    return DescribeProcess(pid);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kNoSuchProcess || (kill(pid, 0) != 0 && errno == ESRCH)) throw;
  }
  PidLocks::Hold hold(pid_locks_, pid);
  return DescribeProcess(pid);
}

proto::UninstallResult RequestHandler::Uninstall(const std::string& patch_id) {
  if (!installed_.Uninstall(patch_id))
    throw Error(ErrorCode::kNotFound, "patch " + patch_id + " is not installed");
  // From here on no new pass applies it; wait out a pass that may be applying it right now, so
  // the scan below sees every process it reached.
  install_watcher_.ForgetPatch(patch_id);
  proto::UninstallResult result;
  result.patch_id = patch_id;
  for (pid_t pid : FindProcessesWithRegistry()) {
    try {
      PidLocks::Hold hold(pid_locks_, pid);
      bool has_patch = false;
      for (const auto& listed : ListPatches(pid))
        has_patch = has_patch || listed.record.patch_id == patch_id;
      if (!has_patch) continue;
      RevertOptions options;
      options.patch_id = patch_id;
      options.scheduling_boost = options_.scheduling_boost;
      RevertPatches(pid, options);
      result.reverted_pids.push_back(pid);
    } catch (const Error& e) {
      if (e.code() == ErrorCode::kNoSuchProcess) continue;  // exited meanwhile: nothing to undo
      result.failed.push_back({pid, std::string(ErrorCodeName(e.code())), e.what()});
    }
  }
  return result;
}

proto::ListResult RequestHandler::List(std::optional<pid_t> pid) {
  proto::ListResult result;
  if (pid) {
    RequireProcess(*pid);
    result.processes.push_back(DescribeProcessSettled(*pid));
  } else {
    for (pid_t p : FindProcessesWithRegistry()) {
      try {
        result.processes.push_back(DescribeProcessSettled(p));
      } catch (const Error&) {
        // A process that exited between the scan and the read is simply not listed.
        if (kill(p, 0) == 0 || errno != ESRCH) throw;
      }
    }
  }
  result.installed = install_watcher_.Describe();
  // An installed bundle not yet in a process's registry shows in that process too, so that
  // `list` answers "is this process patched?" in one place.
  for (const auto& bundle : result.installed)
    for (const auto& target : bundle.targets) {
      if (target.state == "applied" || (pid && target.pid != *pid)) continue;
      auto process = std::find_if(result.processes.begin(), result.processes.end(),
                                  [&](const auto& p) { return p.pid == target.pid; });
      if (process == result.processes.end()) {
        result.processes.push_back({target.pid, ProcessCommand(target.pid), {}});
        process = std::prev(result.processes.end());
      }
      bool listed = std::any_of(process->patches.begin(), process->patches.end(),
                                [&](const auto& p) { return p.patch_id == bundle.patch_id; });
      if (listed) continue;
      proto::ListedPatch patch;
      patch.patch_id = bundle.patch_id;
      patch.description = bundle.description;
      patch.state = target.state == "failed" ? "install failed" : "install pending";
      patch.effective_state = "not applied";
      patch.placement = "-";
      patch.module = bundle.target_module;
      patch.build_id = bundle.target_build_id;
      process->patches.push_back(std::move(patch));
    }
  std::sort(result.processes.begin(), result.processes.end(),
            [](const auto& a, const auto& b) { return a.pid < b.pid; });
  return result;
}

}  // namespace hotpatch::daemon
