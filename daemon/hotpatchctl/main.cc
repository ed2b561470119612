// hotpatchctl: the command-line client of hotpatchd (design §7, docs/protocol.md).
#include <fcntl.h>

#include <cstdio>

#include "base/error.h"
#include "base/unique_fd.h"
#include "common/bundle_file.h"
#include "common/bundle_summary.h"
#include "hotpatchctl/ctl_options.h"
#include "hotpatchctl/daemon_client.h"
#include "hotpatchctl/exit_codes.h"
#include "hotpatchctl/readable_output.h"
#include "proto/messages.h"

namespace hotpatch::ctl {
namespace {

// Beyond the safety-check deadline, the daemon may first finish another request for the same pid.
constexpr std::chrono::seconds kResponseMargin{60};
constexpr std::chrono::milliseconds kEngineDefaultTimeout{5000};

UniqueFd OpenBundle(const std::string& path) {
  // Opened here, with the caller's own rights, and passed to the daemon as a descriptor: the
  // daemon never opens a path the caller names (docs/protocol.md, "Bundles").
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOENT) throw Error(ErrorCode::kNotFound, "bundle " + path + " does not exist");
    throw ErrnoError("open bundle " + path, err);
  }
  return fd;
}

std::chrono::milliseconds ResponseTimeout(const proto::Request& request) {
  std::optional<uint64_t> timeout_ms;
  if (auto* r = std::get_if<proto::ApplyRequest>(&request.body)) timeout_ms = r->timeout_ms;
  if (auto* r = std::get_if<proto::RevertRequest>(&request.body)) timeout_ms = r->timeout_ms;
  auto* fleet = std::get_if<proto::FleetApplyRequest>(&request.body);
  if (fleet) timeout_ms = fleet->timeout_ms;
  auto engine = timeout_ms ? std::chrono::milliseconds(*timeout_ms) : kEngineDefaultTimeout;
  // A fleet's rollback has a deadline as long as the apply's.
  if (fleet) engine *= 2;
  return engine + kResponseMargin;
}

// 0 when every process runs the patch. Otherwise, when this request left the fleet as it was
// (every rollback done, or nothing applied), the first failure's own code, as for one apply;
// 6 or 7 when the fleet is now mixed because of it.
int FleetExitCode(const proto::FleetApplyResult& result) {
  bool changed_some = false;
  const proto::FleetMember* first_failure = nullptr;
  for (const auto& member : result.processes) {
    if (member.outcome == "rollback_failed") return kExitRollbackFailed;
    changed_some = changed_some || member.outcome == "applied";
    if (member.outcome == "failed" && first_failure == nullptr) first_failure = &member;
  }
  if (first_failure == nullptr) return kExitDone;
  if (changed_some) return kExitPartlyApplied;
  return ExitCodeFor(proto::ErrorCodeFromName(first_failure->error));
}

int Report(const proto::Response& response, bool json) {
  if (json)
    std::printf("%s\n", proto::SerializeResponse(response).c_str());
  else
    PrintReadable(response, stdout, stderr);
  if (auto* error = std::get_if<proto::ErrorReply>(&response.body))
    return ExitCodeFor(proto::ErrorCodeFromName(error->error));
  // The bundle is uninstalled, but a process still runs the patch: not done.
  if (auto* uninstall = std::get_if<proto::UninstallResult>(&response.body))
    if (!uninstall->failed.empty()) return kExitError;
  if (auto* fleet = std::get_if<proto::FleetApplyResult>(&response.body))
    return FleetExitCode(*fleet);
  return kExitDone;
}

int ReportError(const Error& e, bool json) {
  return Report(proto::Response{proto::kProtocolVersion, proto::MakeErrorReply(e)}, json);
}

int RunCtl(int argc, char** argv) {
  bool json = false;
  CtlOptions options;
  try {
    options = ParseCtlOptions(argc, argv, json);
  } catch (const Error& e) {
    int code = ReportError(e, json);
    if (!json) std::fprintf(stderr, "%s\n", CtlUsage());
    return code;
  }
  if (options.help) {
    std::printf("%s\n", CtlUsage());
    return kExitDone;
  }
  try {
    if (options.command == "info") {
      UniqueFd fd = OpenBundle(options.bundle_path);
      proto::InfoResult info = SummarizeBundle(ReadBundleFile(fd.get(), options.bundle_path));
      return Report(proto::Response{proto::kProtocolVersion, info}, options.json);
    }
    UniqueFd bundle;
    if (!options.bundle_path.empty()) bundle = OpenBundle(options.bundle_path);
    proto::Response response = ExchangeWithDaemon(options.socket_path, *options.request,
                                                  bundle.get(), ResponseTimeout(*options.request));
    return Report(response, options.json);
  } catch (const Error& e) {
    return ReportError(e, options.json);
  }
}

}  // namespace
}  // namespace hotpatch::ctl

int main(int argc, char** argv) {
  return hotpatch::ctl::RunCtl(argc, argv);
}
