#include "messages.h"

#include <limits.h>

#include <cctype>
#include <nlohmann/json.hpp>

#include "strict_object.h"

namespace hotpatch::proto {
namespace {

using nlohmann::json;

// Fields of the envelope.
constexpr char kVersion[] = "version";
constexpr char kCommand[] = "command";
constexpr char kOk[] = "ok";

constexpr int64_t kMaxPid = INT32_MAX;
// An hour: longer safety-check deadlines are a typo, not a plan.
constexpr int64_t kMaxTimeoutMs = 3600 * 1000;

[[noreturn]] void FailField(const std::string& field, const std::string& what) {
  throw Error(ErrorCode::kBadRequest, "field '" + field + "': " + what);
}

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};
// Clang 14 does not deduce aggregate bases without it (C++20 P1816 is GCC-only there).
template <class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

bool IsPatchId(std::string_view id) {
  // The bundle format's rule: the id appears in /proc/PID/maps names.
  if (id.empty() || id.size() > 128) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' ||
          c == '-'))
      return false;
  return true;
}

bool IsPlacement(std::string_view name) {
  return name == "auto" || name == "reserved" || name == "dead" || name == "mapping";
}

void ReadBundleSource(StrictObject& object, BundleSource& source) {
  source.attached_fd = object.OptionalBool("bundle_fd").value_or(false);
  source.path = object.OptionalString("bundle_path");
  if (source.attached_fd == source.path.has_value())
    FailField("bundle_fd",
              "exactly one of bundle_fd (true, descriptor attached) and bundle_path is needed");
  if (source.path) {
    const std::string& p = *source.path;
    if (p.empty() || p[0] != '/' || p.size() >= PATH_MAX || p.find('\0') != std::string::npos)
      FailField(object.FieldPath("bundle_path"), "expected an absolute path");
  }
}

void WriteBundleSource(json& out, const BundleSource& source) {
  if (source.attached_fd) out["bundle_fd"] = true;
  if (source.path) out["bundle_path"] = *source.path;
}

std::optional<uint64_t> ReadTimeout(StrictObject& object) {
  auto ms = object.OptionalInteger("timeout_ms", 0, kMaxTimeoutMs);
  if (!ms) return std::nullopt;
  return static_cast<uint64_t>(*ms);
}

std::string ReadPlacement(StrictObject& object) {
  std::string placement = object.OptionalString("placement").value_or("auto");
  if (!IsPlacement(placement))
    FailField("placement", "expected one of auto, reserved, dead, mapping");
  return placement;
}

pid_t ReadPid(StrictObject& object) {
  return static_cast<pid_t>(object.Integer("pid", 1, kMaxPid));
}

json ToJson(const ListedPatch& p) {
  return {{"patch_id", p.patch_id},
          {"description", p.description},
          {"state", p.state},
          {"effective_state", p.effective_state},
          {"placement", p.placement},
          {"module", p.module},
          {"build_id", p.build_id},
          {"checksum", p.checksum},
          {"applied_at_unix_us", p.applied_at_unix_us},
          {"functions", p.functions}};
}

ListedPatch ListedPatchFrom(StrictObject o) {
  ListedPatch p;
  p.patch_id = o.String("patch_id");
  p.description = o.String("description");
  p.state = o.String("state");
  p.effective_state = o.String("effective_state");
  p.placement = o.String("placement");
  p.module = o.String("module");
  p.build_id = o.String("build_id");
  p.checksum = o.String("checksum");
  p.applied_at_unix_us = o.Unsigned("applied_at_unix_us");
  p.functions = o.StringArray("functions");
  o.Finish();
  return p;
}

json ToJson(const InstalledBundle& b) {
  json targets = json::array();
  for (const auto& t : b.targets)
    targets.push_back({{"pid", t.pid}, {"state", t.state}, {"message", t.message}});
  return {{"patch_id", b.patch_id},
          {"description", b.description},
          {"target_module", b.target_module},
          {"target_build_id", b.target_build_id},
          {"targets", targets}};
}

InstalledBundle InstalledBundleFrom(StrictObject o) {
  InstalledBundle b;
  b.patch_id = o.String("patch_id");
  b.description = o.String("description");
  b.target_module = o.String("target_module");
  b.target_build_id = o.String("target_build_id");
  for (auto t : o.ObjectArray("targets")) {
    InstalledTarget target;
    target.pid = ReadPid(t);
    target.state = t.String("state");
    target.message = t.String("message");
    t.Finish();
    b.targets.push_back(std::move(target));
  }
  o.Finish();
  return b;
}

json ToJson(const InfoResult& r) {
  json replaced = json::array();
  for (const auto& f : r.replaced)
    replaced.push_back({{"name", f.name},
                        {"source_file", f.source_file},
                        {"target_offset", f.target_offset},
                        {"old_size", f.old_size},
                        {"new_size", f.new_size}});
  json added = json::array();
  for (const auto& f : r.added) added.push_back({{"name", f.name}, {"size", f.size}});
  json data = json::array();
  for (const auto& d : r.data)
    data.push_back({{"section", d.section}, {"size", d.size}, {"writable", d.writable}});
  return {{"patch_id", r.patch_id},
          {"description", r.description},
          {"format_version", r.format_version},
          {"target_module", r.target_module},
          {"target_build_id", r.target_build_id},
          {"placement", r.placement},
          {"created_unix", r.created_unix},
          {"checksum", r.checksum},
          {"signature", r.signature},
          {"size", r.size},
          {"replaced", replaced},
          {"added", added},
          {"data", data}};
}

InfoResult InfoResultFrom(StrictObject& o) {
  InfoResult r;
  r.patch_id = o.String("patch_id");
  r.description = o.String("description");
  r.format_version = static_cast<uint32_t>(o.Integer("format_version", 0, UINT32_MAX));
  r.target_module = o.String("target_module");
  r.target_build_id = o.String("target_build_id");
  r.placement = o.String("placement");
  r.created_unix = o.Unsigned("created_unix");
  r.checksum = o.String("checksum");
  r.signature = o.String("signature");
  r.size = o.Unsigned("size");
  for (auto f : o.ObjectArray("replaced")) {
    ReplacedFunctionInfo info;
    info.name = f.String("name");
    info.source_file = f.String("source_file");
    info.target_offset = f.Unsigned("target_offset");
    info.old_size = f.Unsigned("old_size");
    info.new_size = f.Unsigned("new_size");
    f.Finish();
    r.replaced.push_back(info);
  }
  for (auto f : o.ObjectArray("added")) {
    AddedFunctionInfo info;
    info.name = f.String("name");
    info.size = f.Unsigned("size");
    f.Finish();
    r.added.push_back(info);
  }
  for (auto d : o.ObjectArray("data")) {
    DataSectionInfo info;
    info.section = d.String("section");
    info.size = d.Unsigned("size");
    info.writable = d.Bool("writable");
    d.Finish();
    r.data.push_back(info);
  }
  return r;
}

json ToJson(const FleetMember& m) {
  return {{"pid", m.pid},           {"command", m.command},
          {"outcome", m.outcome},   {"placement", m.placement},
          {"attempts", m.attempts}, {"pause_us", m.pause_us},
          {"error", m.error},       {"message", m.message}};
}

FleetMember FleetMemberFrom(StrictObject o) {
  FleetMember m;
  m.pid = ReadPid(o);
  m.command = o.String("command");
  m.outcome = o.String("outcome");
  m.placement = o.String("placement");
  m.attempts = static_cast<int>(o.Integer("attempts", 0, INT32_MAX));
  m.pause_us = o.Unsigned("pause_us");
  m.error = o.String("error");
  m.message = o.String("message");
  o.Finish();
  return m;
}

}  // namespace

std::string_view CommandName(const RequestBody& body) {
  return std::visit(Overloaded{[](const ApplyRequest&) { return "apply"; },
                               [](const RevertRequest&) { return "revert"; },
                               [](const ListRequest&) { return "list"; },
                               [](const StatusRequest&) { return "status"; },
                               [](const InfoRequest&) { return "info"; },
                               [](const InstallRequest&) { return "install"; },
                               [](const UninstallRequest&) { return "uninstall"; },
                               [](const FleetApplyRequest&) { return "fleet_apply"; }},
                    body);
}

bool ChangesProcess(const RequestBody& body) {
  return std::holds_alternative<ApplyRequest>(body) ||
         std::holds_alternative<RevertRequest>(body) ||
         std::holds_alternative<InstallRequest>(body) ||
         std::holds_alternative<UninstallRequest>(body) ||
         std::holds_alternative<FleetApplyRequest>(body);
}

ErrorReply MakeErrorReply(const Error& error) {
  return ErrorReply{std::string(ErrorCodeName(error.code())), error.what()};
}

ErrorCode ErrorCodeFromName(std::string_view name) {
  for (ErrorCode code :
       {ErrorCode::kInternal, ErrorCode::kBadRequest, ErrorCode::kBadBundle, ErrorCode::kMismatch,
        ErrorCode::kBusy, ErrorCode::kNoSuchProcess, ErrorCode::kPermissionDenied,
        ErrorCode::kUnsupported, ErrorCode::kNotFound})
    if (ErrorCodeName(code) == name) return code;
  return ErrorCode::kInternal;
}

std::string SerializeRequest(const Request& request) {
  json out{{kVersion, request.version}, {kCommand, CommandName(request.body)}};
  std::visit(Overloaded{[&](const ApplyRequest& r) {
                          out["pid"] = r.pid;
                          WriteBundleSource(out, r.bundle);
                          out["placement"] = r.placement;
                          if (r.timeout_ms) out["timeout_ms"] = *r.timeout_ms;
                        },
                        [&](const RevertRequest& r) {
                          out["pid"] = r.pid;
                          if (r.patch_id) out["patch_id"] = *r.patch_id;
                          if (r.all) out["all"] = true;
                          if (r.timeout_ms) out["timeout_ms"] = *r.timeout_ms;
                        },
                        [&](const ListRequest& r) {
                          if (r.pid) out["pid"] = *r.pid;
                        },
                        [&](const StatusRequest&) {},
                        [&](const InfoRequest& r) { WriteBundleSource(out, r.bundle); },
                        [&](const InstallRequest& r) { WriteBundleSource(out, r.bundle); },
                        [&](const UninstallRequest& r) { out["patch_id"] = r.patch_id; },
                        [&](const FleetApplyRequest& r) {
                          WriteBundleSource(out, r.bundle);
                          out["placement"] = r.placement;
                          if (r.timeout_ms) out["timeout_ms"] = *r.timeout_ms;
                          if (r.atomic) out["atomic"] = true;
                        }},
             request.body);
  return out.dump();
}

Request ParseRequest(std::string_view line) {
  json value = ParseObjectLine(line);
  StrictObject o(value, "");
  Request request;
  request.version = static_cast<int>(o.Integer(kVersion, 0, INT32_MAX));
  if (request.version != kProtocolVersion)
    throw Error(ErrorCode::kUnsupported, "protocol version " + std::to_string(request.version) +
                                             " is not supported (this side speaks version " +
                                             std::to_string(kProtocolVersion) + ")");
  std::string command = o.String(kCommand);
  if (command == "apply") {
    ApplyRequest r;
    r.pid = ReadPid(o);
    ReadBundleSource(o, r.bundle);
    r.placement = ReadPlacement(o);
    r.timeout_ms = ReadTimeout(o);
    request.body = r;
  } else if (command == "fleet_apply") {
    FleetApplyRequest r;
    ReadBundleSource(o, r.bundle);
    r.placement = ReadPlacement(o);
    r.timeout_ms = ReadTimeout(o);
    r.atomic = o.OptionalBool("atomic").value_or(false);
    request.body = r;
  } else if (command == "revert") {
    RevertRequest r;
    r.pid = ReadPid(o);
    r.patch_id = o.OptionalString("patch_id");
    if (r.patch_id && !IsPatchId(*r.patch_id))
      FailField("patch_id", "expected [A-Za-z0-9._+-]{1,128}");
    r.all = o.OptionalBool("all").value_or(false);
    if (r.all && r.patch_id) FailField("all", "cannot be combined with patch_id");
    r.timeout_ms = ReadTimeout(o);
    request.body = r;
  } else if (command == "list") {
    ListRequest r;
    if (o.Has("pid")) r.pid = ReadPid(o);
    request.body = r;
  } else if (command == "status") {
    request.body = StatusRequest{};
  } else if (command == "info") {
    InfoRequest r;
    ReadBundleSource(o, r.bundle);
    request.body = r;
  } else if (command == "install") {
    InstallRequest r;
    ReadBundleSource(o, r.bundle);
    request.body = r;
  } else if (command == "uninstall") {
    UninstallRequest r;
    r.patch_id = o.String("patch_id");
    if (!IsPatchId(r.patch_id)) FailField("patch_id", "expected [A-Za-z0-9._+-]{1,128}");
    request.body = r;
  } else {
    FailField(kCommand, "unknown command '" + command +
                            "' (expected apply, revert, list, status, info, install, uninstall or "
                            "fleet_apply)");
  }
  o.Finish();
  return request;
}

std::string SerializeResponse(const Response& response) {
  json out{{kVersion, response.version}};
  std::visit(
      Overloaded{
          [&](const ApplyResult& r) {
            out[kOk] = true;
            out[kCommand] = "apply";
            out["patch_id"] = r.patch_id;
            out["pid"] = r.pid;
            out["placement"] = r.placement;
            out["functions"] = r.functions;
            out["attempts"] = r.attempts;
            out["pause_us"] = r.pause_us;
            out["already_applied"] = r.already_applied;
          },
          [&](const RevertResult& r) {
            out[kOk] = true;
            out[kCommand] = "revert";
            out["pid"] = r.pid;
            out["reverted"] = r.reverted;
            out["attempts"] = r.attempts;
            out["pause_us"] = r.pause_us;
          },
          [&](const ListResult& r) {
            out[kOk] = true;
            out[kCommand] = "list";
            json processes = json::array();
            for (const auto& p : r.processes) {
              json patches = json::array();
              for (const auto& patch : p.patches) patches.push_back(ToJson(patch));
              processes.push_back({{"pid", p.pid}, {"command", p.command}, {"patches", patches}});
            }
            out["processes"] = processes;
            json installed = json::array();
            for (const auto& b : r.installed) installed.push_back(ToJson(b));
            out["installed"] = installed;
          },
          [&](const StatusResult& r) {
            out[kOk] = true;
            out[kCommand] = "status";
            out["daemon_version"] = r.daemon_version;
            out["daemon_pid"] = r.daemon_pid;
            out["uptime_s"] = r.uptime_s;
            out["requests_served"] = r.requests_served;
            out["in_flight"] = r.in_flight;
          },
          [&](const InfoResult& r) {
            out[kOk] = true;
            out[kCommand] = "info";
            out.update(ToJson(r));
          },
          [&](const InstallResult& r) {
            out[kOk] = true;
            out[kCommand] = "install";
            out["patch_id"] = r.patch_id;
            out["target_module"] = r.target_module;
            out["target_build_id"] = r.target_build_id;
            out["already_installed"] = r.already_installed;
          },
          [&](const UninstallResult& r) {
            out[kOk] = true;
            out[kCommand] = "uninstall";
            out["patch_id"] = r.patch_id;
            out["reverted_pids"] = r.reverted_pids;
            json failed = json::array();
            for (const auto& f : r.failed)
              failed.push_back({{"pid", f.pid}, {"error", f.error}, {"message", f.message}});
            out["failed"] = failed;
          },
          [&](const FleetApplyResult& r) {
            out[kOk] = true;
            out[kCommand] = "fleet_apply";
            out["patch_id"] = r.patch_id;
            out["target_module"] = r.target_module;
            out["target_build_id"] = r.target_build_id;
            out["atomic"] = r.atomic;
            json processes = json::array();
            for (const auto& m : r.processes) processes.push_back(ToJson(m));
            out["processes"] = processes;
          },
          [&](const ErrorReply& r) {
            out[kOk] = false;
            out["error"] = r.error;
            out["message"] = r.message;
          }},
      response.body);
  return out.dump();
}

Response ParseResponse(std::string_view line) {
  json value = ParseObjectLine(line);
  StrictObject o(value, "");
  Response response;
  response.version = static_cast<int>(o.Integer(kVersion, 0, INT32_MAX));
  if (response.version != kProtocolVersion)
    throw Error(ErrorCode::kUnsupported, "protocol version " + std::to_string(response.version) +
                                             " is not supported (this side speaks version " +
                                             std::to_string(kProtocolVersion) + ")");
  if (!o.Bool(kOk)) {
    ErrorReply r;
    r.error = o.String("error");
    r.message = o.String("message");
    response.body = r;
    o.Finish();
    return response;
  }
  std::string command = o.String(kCommand);
  if (command == "apply") {
    ApplyResult r;
    r.patch_id = o.String("patch_id");
    r.pid = ReadPid(o);
    r.placement = o.String("placement");
    r.functions = o.StringArray("functions");
    r.attempts = static_cast<int>(o.Integer("attempts", 0, INT32_MAX));
    r.pause_us = o.Unsigned("pause_us");
    r.already_applied = o.Bool("already_applied");
    response.body = r;
  } else if (command == "revert") {
    RevertResult r;
    r.pid = ReadPid(o);
    r.reverted = o.StringArray("reverted");
    r.attempts = static_cast<int>(o.Integer("attempts", 0, INT32_MAX));
    r.pause_us = o.Unsigned("pause_us");
    response.body = r;
  } else if (command == "list") {
    ListResult r;
    for (auto p : o.ObjectArray("processes")) {
      ListedProcess process;
      process.pid = ReadPid(p);
      process.command = p.String("command");
      for (auto patch : p.ObjectArray("patches")) process.patches.push_back(ListedPatchFrom(patch));
      p.Finish();
      r.processes.push_back(std::move(process));
    }
    if (o.Has("installed"))
      for (auto b : o.ObjectArray("installed")) r.installed.push_back(InstalledBundleFrom(b));
    response.body = r;
  } else if (command == "status") {
    StatusResult r;
    r.daemon_version = o.String("daemon_version");
    r.daemon_pid = static_cast<pid_t>(o.Integer("daemon_pid", 1, kMaxPid));
    r.uptime_s = o.Unsigned("uptime_s");
    r.requests_served = o.Unsigned("requests_served");
    r.in_flight = o.Unsigned("in_flight");
    response.body = r;
  } else if (command == "info") {
    response.body = InfoResultFrom(o);
  } else if (command == "install") {
    InstallResult r;
    r.patch_id = o.String("patch_id");
    r.target_module = o.String("target_module");
    r.target_build_id = o.String("target_build_id");
    r.already_installed = o.Bool("already_installed");
    response.body = r;
  } else if (command == "uninstall") {
    UninstallResult r;
    r.patch_id = o.String("patch_id");
    for (int64_t pid : o.IntegerArray("reverted_pids", 1, kMaxPid))
      r.reverted_pids.push_back(static_cast<pid_t>(pid));
    for (auto f : o.ObjectArray("failed")) {
      UninstallFailure failure;
      failure.pid = ReadPid(f);
      failure.error = f.String("error");
      failure.message = f.String("message");
      f.Finish();
      r.failed.push_back(std::move(failure));
    }
    response.body = r;
  } else if (command == "fleet_apply") {
    FleetApplyResult r;
    r.patch_id = o.String("patch_id");
    r.target_module = o.String("target_module");
    r.target_build_id = o.String("target_build_id");
    r.atomic = o.Bool("atomic");
    for (auto m : o.ObjectArray("processes")) r.processes.push_back(FleetMemberFrom(m));
    response.body = r;
  } else {
    FailField(kCommand, "unknown command '" + command + "'");
  }
  o.Finish();
  return response;
}

}  // namespace hotpatch::proto
