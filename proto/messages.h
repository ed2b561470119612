// The messages of the hotpatchd protocol (docs/protocol.md): one JSON object per line over a Unix
// stream socket, one request and its response per connection. Daemon and client both use these
// types, so JSON keys are spelled in exactly one place (messages.cc).
//
// Parsing is strict: an unknown command or field, a wrong type, a missing field or a value out of
// range throws Error(kBadRequest) naming the field ("processes[0].pid: expected ..."), so a typo in
// a client is an error, not a silently ignored option.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/error.h"

namespace hotpatch::proto {

// Bumped on any incompatible change; a daemon refuses requests of another version.
inline constexpr int kProtocolVersion = 1;

// A request line longer than this is refused without being parsed: requests are small (the
// bundle travels as a file descriptor), and an unbounded line would let one client exhaust the
// daemon's memory.
inline constexpr size_t kMaxRequestBytes = 64 * 1024;
// Responses can list many processes; the client still bounds what it buffers.
inline constexpr size_t kMaxResponseBytes = 16 * 1024 * 1024;

// Where the daemon gets the bundle: the file descriptor passed with the request (SCM_RIGHTS), or
// a path it opens itself after checking who owns the file.
struct BundleSource {
  bool attached_fd = false;
  std::optional<std::string> path;
  bool operator==(const BundleSource&) const = default;
};

struct ApplyRequest {
  pid_t pid = 0;
  BundleSource bundle;
  std::string placement = "auto";  // "auto" | "reserved" | "dead" | "mapping"
  std::optional<uint64_t> timeout_ms;
  bool operator==(const ApplyRequest&) const = default;
};

struct RevertRequest {
  pid_t pid = 0;
  std::optional<std::string> patch_id;  // neither this nor `all`: the newest patch
  bool all = false;
  std::optional<uint64_t> timeout_ms;
  bool operator==(const RevertRequest&) const = default;
};

struct ListRequest {
  std::optional<pid_t> pid;  // nullopt: every process that has a patch registry
  bool operator==(const ListRequest&) const = default;
};

struct StatusRequest {
  bool operator==(const StatusRequest&) const = default;
};

struct InfoRequest {
  BundleSource bundle;
  bool operator==(const InfoRequest&) const = default;
};

// Keeps the bundle in the daemon's state directory and applies it to every process, running now or
// started later, that maps its target module (by build-id).
struct InstallRequest {
  BundleSource bundle;
  bool operator==(const InstallRequest&) const = default;
};

// Forgets an installed bundle and reverts its patch from every process that has it.
struct UninstallRequest {
  std::string patch_id;
  bool operator==(const UninstallRequest&) const = default;
};

// Applies the bundle, now and once, to every running process that maps its target module (by
// build-id), in parallel. `atomic`: unless every one of them runs the patch before the deadline,
// it is reverted from those this request patched.
struct FleetApplyRequest {
  BundleSource bundle;
  std::string placement = "auto";
  std::optional<uint64_t> timeout_ms;  // for the whole fleet, not per process
  bool atomic = false;
  bool operator==(const FleetApplyRequest&) const = default;
};

using RequestBody = std::variant<ApplyRequest, RevertRequest, ListRequest, StatusRequest,
                                 InfoRequest, InstallRequest, UninstallRequest, FleetApplyRequest>;

struct Request {
  int version = kProtocolVersion;
  RequestBody body;
  bool operator==(const Request&) const = default;
};

// "apply", "revert", "list", "status", "info", "install", "uninstall", "fleet_apply".
std::string_view CommandName(const RequestBody& body);
// True for requests that change a process or what the daemon applies (only root or the admin
// group may send them): apply, revert, install, uninstall, fleet_apply.
bool ChangesProcess(const RequestBody& body);

struct ApplyResult {
  std::string patch_id;
  pid_t pid = 0;
  std::string placement;
  std::vector<std::string> functions;
  int attempts = 0;
  uint64_t pause_us = 0;
  bool already_applied = false;
  bool operator==(const ApplyResult&) const = default;
};

struct RevertResult {
  pid_t pid = 0;
  std::vector<std::string> reverted;
  int attempts = 0;
  uint64_t pause_us = 0;
  bool operator==(const RevertResult&) const = default;
};

struct ListedPatch {
  std::string patch_id;
  std::string description;
  std::string state;            // registry state: "prepared" | "applied" | "reverting"
  std::string effective_state;  // what the target runs: "applied" | "not applied"
  std::string placement;
  std::string module;
  std::string build_id;
  std::string checksum;
  uint64_t applied_at_unix_us = 0;
  std::vector<std::string> functions;
  bool operator==(const ListedPatch&) const = default;
};

struct ListedProcess {
  pid_t pid = 0;
  std::string command;  // /proc/PID/comm
  std::vector<ListedPatch> patches;
  bool operator==(const ListedProcess&) const = default;
};

// Where an installed bundle stands in one process that maps its target module.
struct InstalledTarget {
  pid_t pid = 0;
  std::string state;    // "applied" | "pending" (not tried yet) | "retrying" | "failed"
  std::string message;  // why it is retrying or failed; "" otherwise
  bool operator==(const InstalledTarget&) const = default;
};

struct InstalledBundle {
  std::string patch_id;
  std::string description;
  std::string target_module;
  std::string target_build_id;
  std::vector<InstalledTarget> targets;
  bool operator==(const InstalledBundle&) const = default;
};

struct ListResult {
  std::vector<ListedProcess> processes;
  // Bundles kept by `install`; absent on the wire means none (older daemons do not send it).
  std::vector<InstalledBundle> installed;
  bool operator==(const ListResult&) const = default;
};

struct StatusResult {
  std::string daemon_version;
  pid_t daemon_pid = 0;
  uint64_t uptime_s = 0;
  uint64_t requests_served = 0;
  uint64_t in_flight = 0;
  bool operator==(const StatusResult&) const = default;
};

struct ReplacedFunctionInfo {
  std::string name;
  std::string source_file;
  uint64_t target_offset = 0;
  uint64_t old_size = 0;
  uint64_t new_size = 0;
  bool operator==(const ReplacedFunctionInfo&) const = default;
};

struct AddedFunctionInfo {
  std::string name;
  uint64_t size = 0;
  bool operator==(const AddedFunctionInfo&) const = default;
};

struct DataSectionInfo {
  std::string section;
  uint64_t size = 0;
  bool writable = false;
  bool operator==(const DataSectionInfo&) const = default;
};

struct InfoResult {
  std::string patch_id;
  std::string description;
  uint32_t format_version = 0;
  std::string target_module;
  std::string target_build_id;
  std::string placement;  // the bundle's preference
  uint64_t created_unix = 0;
  std::string checksum;
  std::string signature;  // "unsigned" | "valid" | "invalid" | "untrusted_key"
  uint64_t size = 0;      // of the bundle file
  std::vector<ReplacedFunctionInfo> replaced;
  std::vector<AddedFunctionInfo> added;
  std::vector<DataSectionInfo> data;
  bool operator==(const InfoResult&) const = default;
};

struct ErrorReply {
  std::string error;  // a stable code: ErrorCodeName()
  std::string message;
  bool operator==(const ErrorReply&) const = default;
};

struct InstallResult {
  std::string patch_id;
  std::string target_module;
  std::string target_build_id;
  bool already_installed = false;  // the same bundle (same checksum) was installed before
  bool operator==(const InstallResult&) const = default;
};

struct UninstallFailure {
  pid_t pid = 0;
  std::string error;  // a stable code, as in ErrorReply
  std::string message;
  bool operator==(const UninstallFailure&) const = default;
};

struct UninstallResult {
  std::string patch_id;
  std::vector<pid_t> reverted_pids;  // ascending
  std::vector<UninstallFailure> failed;
  bool operator==(const UninstallResult&) const = default;
};

// What a fleet apply did to one process.
struct FleetMember {
  pid_t pid = 0;
  std::string command;  // /proc/PID/comm
  // "applied" | "already_applied" | "failed" | "exited" (gone before or while it was patched:
  // not a failure) | "rolled_back" (applied, then reverted because another member failed) |
  // "rollback_failed" (applied, and the revert failed: it still runs the patch)
  std::string outcome;
  std::string placement;  // of the apply, when it happened; "" otherwise
  int attempts = 0;
  uint64_t pause_us = 0;  // of the apply (and of the rollback, for rolled_back)
  std::string error;      // failed, rollback_failed: a stable code as in ErrorReply; "" otherwise
  std::string message;
  bool operator==(const FleetMember&) const = default;
};

struct FleetApplyResult {
  std::string patch_id;
  std::string target_module;
  std::string target_build_id;
  bool atomic = false;
  std::vector<FleetMember> processes;  // ascending pid
  bool operator==(const FleetApplyResult&) const = default;
};

using ResponseBody = std::variant<ApplyResult, RevertResult, ListResult, StatusResult, InfoResult,
                                  InstallResult, UninstallResult, FleetApplyResult, ErrorReply>;

struct Response {
  int version = kProtocolVersion;
  ResponseBody body;
  bool operator==(const Response&) const = default;
};

ErrorReply MakeErrorReply(const Error& error);
// The ErrorCode of a wire name; kInternal for a name this version does not know.
ErrorCode ErrorCodeFromName(std::string_view name);

// One line of JSON, without the newline.
std::string SerializeRequest(const Request& request);
std::string SerializeResponse(const Response& response);

// Throw Error(kBadRequest) naming the offending field.
Request ParseRequest(std::string_view line);
Response ParseResponse(std::string_view line);

}  // namespace hotpatch::proto
