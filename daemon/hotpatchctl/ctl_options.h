// hotpatchctl's command line (design §7):
//   hotpatchctl [--socket PATH] [--json] apply PID BUNDLE [--placement P] [--timeout SEC]
//   hotpatchctl [--socket PATH] [--json] apply --all-processes BUNDLE [--atomic] [--placement P]
//               [--timeout SEC]
//   hotpatchctl [--socket PATH] [--json] revert PID [PATCH_ID | --all]
//   hotpatchctl [--socket PATH] [--json] list [PID]
//   hotpatchctl [--json] info BUNDLE
//   hotpatchctl [--socket PATH] [--json] status
//   hotpatchctl [--socket PATH] [--json] install BUNDLE
//   hotpatchctl [--socket PATH] [--json] uninstall PATCH_ID
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "proto/messages.h"

namespace hotpatch::ctl {

struct CtlOptions {
  std::string socket_path;  // --socket, else $HOTPATCH_SOCKET, else the default
  bool json = false;
  bool help = false;
  std::string command;                    // "apply", "revert", "list", "info", "status", ...
  std::optional<proto::Request> request;  // what to send; not for "info" (read locally)
  std::string bundle_path;                // apply, install, info
};

// Throws Error(kBadRequest) with the reason; the caller prints it with the usage (exit code 2).
// `json` is set as soon as --json is seen, so even a usage error can be reported as JSON.
CtlOptions ParseCtlOptions(int argc, char** argv, bool& json);

const char* CtlUsage();

}  // namespace hotpatch::ctl
