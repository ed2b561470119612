// Crash-consistency testing: HOTPATCH_FAULT_INJECT=<step> makes the engine SIGKILL itself when it
// reaches that step, the way an administrator's `kill -9` or the OOM killer would. The kernel then
// detaches every tracee (exit_ptrace) and they run on; the tests check that the target is either
// untouched or fully patched, and that a fresh engine tells which. A release build keeps the hook:
// it costs one getenv per step, and production crash recovery is exactly what it proves.
#pragma once

#include <string_view>

namespace hotpatch {

// Kills this process with SIGKILL if HOTPATCH_FAULT_INJECT names `step`.
void FaultInjectionPoint(std::string_view step);

}  // namespace hotpatch
