#include "hotpatchctl/ctl_options.h"

#include <cmath>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "base/error.h"

namespace hotpatch::ctl {
namespace {

constexpr char kDefaultSocketPath[] = "/run/hotpatch/hotpatchd.sock";

[[noreturn]] void Usage(const std::string& what) {
  throw Error(ErrorCode::kBadRequest, what);
}

pid_t ParsePid(const std::string& text) {
  char* end = nullptr;
  errno = 0;
  long pid = std::strtol(text.c_str(), &end, 10);
  if (text.empty() || *end != '\0' || errno != 0 || pid <= 0 || pid > INT32_MAX)
    Usage("PID must be a positive integer, got '" + text + "'");
  return static_cast<pid_t>(pid);
}

uint64_t ParseTimeoutMs(const std::string& text) {
  char* end = nullptr;
  double seconds = std::strtod(text.c_str(), &end);
  if (text.empty() || *end != '\0' || !std::isfinite(seconds) || seconds <= 0 || seconds > 3600)
    Usage("--timeout expects seconds in (0, 3600], got '" + text + "'");
  return static_cast<uint64_t>(std::llround(seconds * 1000));
}

}  // namespace

const char* CtlUsage() {
  return "usage: hotpatchctl [--socket PATH] [--json] apply PID BUNDLE "
         "[--placement auto|reserved|dead|mapping] [--timeout SEC]\n"
         "       hotpatchctl [--socket PATH] [--json] apply --all-processes BUNDLE [--atomic] "
         "[--placement P] [--timeout SEC]\n"
         "       hotpatchctl [--socket PATH] [--json] revert PID [PATCH_ID | --all]\n"
         "       hotpatchctl [--socket PATH] [--json] list [PID]\n"
         "       hotpatchctl [--json] info BUNDLE\n"
         "       hotpatchctl [--socket PATH] [--json] status\n"
         "       hotpatchctl [--socket PATH] [--json] install BUNDLE\n"
         "       hotpatchctl [--socket PATH] [--json] uninstall PATCH_ID\n"
         "The socket is --socket, else $HOTPATCH_SOCKET, else /run/hotpatch/hotpatchd.sock.\n"
         "Exit codes: 0 done, 1 error, 2 usage, 3 target busy, 4 bundle does not match the "
         "target, 5 permission denied,\n"
         "6 --all-processes: some processes run the patch, others failed (no --atomic), 7 "
         "--atomic: "
         "a rollback failed.";
}

CtlOptions ParseCtlOptions(int argc, char** argv, bool& json) {
  CtlOptions options;
  const char* env_socket = std::getenv("HOTPATCH_SOCKET");
  options.socket_path = env_socket && *env_socket ? env_socket : kDefaultSocketPath;
  std::vector<std::string> positional;
  // A plain string and a flag: GCC 12 warns (wrongly) on optional<string> here.
  std::string placement = "auto";
  bool placement_given = false;
  std::optional<uint64_t> timeout_ms;
  bool all = false;
  bool all_processes = false;
  bool atomic = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Usage(std::string(arg) + " needs a value");
      return argv[++i];
    };
    if (arg == "--json") {
      options.json = json = true;
    } else if (arg == "--socket") {
      options.socket_path = value();
      if (options.socket_path.empty()) Usage("--socket: empty path");
    } else if (arg == "--placement") {
      placement = value();
      placement_given = true;
      if (placement != "auto" && placement != "reserved" && placement != "dead" &&
          placement != "mapping")
        Usage("--placement expects auto, reserved, dead or mapping, got '" + placement + "'");
    } else if (arg == "--timeout") {
      timeout_ms = ParseTimeoutMs(value());
    } else if (arg == "--all") {
      all = true;
    } else if (arg == "--all-processes") {
      all_processes = true;
    } else if (arg == "--atomic") {
      atomic = true;
    } else if (arg == "--help" || arg == "-h") {
      options.help = true;
      return options;
    } else if (arg.starts_with("--")) {
      Usage("unknown option '" + std::string(arg) + "'");
    } else {
      positional.emplace_back(arg);
    }
  }
  if (positional.empty()) Usage("no command given");
  options.command = positional[0];
  auto args = std::vector<std::string>(positional.begin() + 1, positional.end());
  auto only_for = [&](bool present, const char* option, const char* commands) {
    if (present)
      Usage(std::string(option) + " is only for " + commands + ", not '" + options.command + "'");
  };
  const std::string& c = options.command;
  only_for(placement_given && c != "apply", "--placement", "apply");
  only_for(timeout_ms.has_value() && c != "apply" && c != "revert", "--timeout",
           "apply and revert");
  only_for(all && c != "revert", "--all", "revert");
  only_for(all_processes && c != "apply", "--all-processes", "apply");
  // install promises "eventually everywhere" (a busy process is retried with back-off, new
  // processes are patched when they start); --atomic promises "everywhere now or nowhere". Both
  // at once cannot hold for processes that do not exist yet, so install refuses it and says how
  // to get the all-or-nothing start (docs/protocol.md, "fleet_apply").
  if (atomic && c == "install")
    Usage(
        "install does not take --atomic: run `hotpatchctl apply --all-processes --atomic BUNDLE`, "
        "then `hotpatchctl install BUNDLE` once it succeeded (install keeps the processes that "
        "already run the patch as they are)");
  only_for(atomic && !(c == "apply" && all_processes), "--atomic", "apply --all-processes");

  if (c == "apply" && all_processes) {
    if (args.size() != 1) Usage("apply --all-processes needs BUNDLE (and no PID)");
    proto::FleetApplyRequest r;
    options.bundle_path = args[0];
    r.bundle.attached_fd = true;
    r.placement = placement;
    r.timeout_ms = timeout_ms;
    r.atomic = atomic;
    options.request = proto::Request{proto::kProtocolVersion, r};
  } else if (c == "apply") {
    if (args.size() != 2) Usage("apply needs PID and BUNDLE");
    proto::ApplyRequest r;
    r.pid = ParsePid(args[0]);
    options.bundle_path = args[1];
    r.bundle.attached_fd = true;
    r.placement = placement;
    r.timeout_ms = timeout_ms;
    options.request = proto::Request{proto::kProtocolVersion, r};
  } else if (c == "revert") {
    if (args.empty() || args.size() > 2) Usage("revert needs PID and optionally PATCH_ID");
    proto::RevertRequest r;
    r.pid = ParsePid(args[0]);
    if (args.size() == 2) {
      if (all) Usage("revert takes PATCH_ID or --all, not both");
      r.patch_id = args[1];
    }
    r.all = all;
    r.timeout_ms = timeout_ms;
    options.request = proto::Request{proto::kProtocolVersion, r};
  } else if (c == "list") {
    if (args.size() > 1) Usage("list takes at most one PID");
    proto::ListRequest r;
    if (args.size() == 1) r.pid = ParsePid(args[0]);
    options.request = proto::Request{proto::kProtocolVersion, r};
  } else if (c == "status") {
    if (!args.empty()) Usage("status takes no arguments");
    options.request = proto::Request{proto::kProtocolVersion, proto::StatusRequest{}};
  } else if (c == "install") {
    if (args.size() != 1) Usage("install needs BUNDLE");
    options.bundle_path = args[0];
    proto::InstallRequest r;
    r.bundle.attached_fd = true;
    options.request = proto::Request{proto::kProtocolVersion, r};
  } else if (c == "uninstall") {
    if (args.size() != 1) Usage("uninstall needs PATCH_ID");
    options.request = proto::Request{proto::kProtocolVersion, proto::UninstallRequest{args[0]}};
  } else if (c == "info") {
    if (args.size() != 1) Usage("info needs BUNDLE");
    options.bundle_path = args[0];
  } else {
    Usage("unknown command '" + c + "'");
  }
  return options;
}

}  // namespace hotpatch::ctl
