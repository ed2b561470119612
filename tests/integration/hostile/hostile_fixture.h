// What the hostile-target tests share: building a bundle the way a user would (cc, then
// `hotpatch-gen pack`), reading the version counters every hostile_* target reports, and
// observing from outside whether a process or thread is left traced or stopped.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "support/target_process.h"
#include "support/target_stats.h"

namespace hotpatch::test {

// Compiles tests/integration/hostile/patches/<name>.c and packs it against `target` as patch
// `id`; returns the bundle's bytes.
std::vector<uint8_t> BuildPatchBundle(const std::string& name, const std::string& target,
                                      const std::string& id);

// Runs `command` with /bin/sh; throws with its output when it fails.
std::string RunCommand(const std::string& command);



// The bytes of every executable file-backed mapping of the target's main executable (whatever
// its path now names), concatenated.
std::vector<uint8_t> SnapshotExecutableCode(pid_t pid);

// TracerPid and state letter of /proc/PID/task/TID/status (or /proc/PID/status when tid is 0).
struct TraceState {
  pid_t tracer = 0;
  char state = '?';
};
std::optional<TraceState> TryReadTraceState(pid_t pid, pid_t tid = 0);

// Threads of `pid` that are traced by anyone or in a stop ('t' or 'T'), described one per line;
// empty when none.
std::string TracedOrStoppedThreads(pid_t pid);

// Every process whose TracerPid is `tracer` (e.g. this test process), described; empty if none.
std::string ProcessesTracedBy(pid_t tracer);

// A scratch directory removed (recursively) with everything in it.
class ScratchDirectory {
 public:
  ScratchDirectory();
  ~ScratchDirectory();
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// A child process of the test itself (a foreign tracer, an engine run we must be able to abandon):
// SIGKILLed and reaped when the guard goes away.
class ChildProcessGuard {
 public:
  explicit ChildProcessGuard(pid_t pid) : pid_(pid) {}
  ~ChildProcessGuard();
  ChildProcessGuard(const ChildProcessGuard&) = delete;
  ChildProcessGuard& operator=(const ChildProcessGuard&) = delete;
  pid_t pid() const { return pid_; }
  // Waits for it to exit on its own; false (still running) after `timeout`.
  bool TryWaitForExit(std::chrono::milliseconds timeout, int* status);

 private:
  pid_t pid_;
  bool reaped_ = false;
};

}  // namespace hotpatch::test
