// Shared pieces of the daemon tests: a private hotpatchd on a socket in a temp dir, running
// hotpatchctl (optionally as `nobody`) and collecting its exit code and output, raw protocol
// exchanges for what hotpatchctl would never send, and bundles built the way a user builds them.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "support/target_process.h"
#include "support/target_stats.h"

namespace hotpatch::test {

// A directory under /tmp, removed with everything in it on destruction. Mode 0755 so that a
// test client running as nobody can reach the socket and the bundles in it.
class TempDir {
 public:
  TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Quotes `word` for /bin/sh.
std::string ShellQuote(const std::string& word);

// hotpatchd on `socket_path`, its stderr (the request log) readable as the process's stdout.
// Its state dir is <socket's dir>/state unless `extra_args` name one. Returns once the socket
// accepts connections.
class RunningDaemon {
 public:
  explicit RunningDaemon(const std::string& socket_path,
                         const std::vector<std::string>& extra_args = {});
  TargetProcess& process() { return *process_; }
  const std::string& socket_path() const { return socket_path_; }
  // Reads log lines until one contains every string of `needles`; returns it.
  std::string WaitForLogLine(const std::vector<std::string>& needles);

 private:
  std::string socket_path_;
  std::optional<TargetProcess> process_;
};

// Waits until something accepts connections on `socket_path`.
void WaitForSocket(const std::string& socket_path, std::chrono::milliseconds timeout);

struct CtlRun {
  int exit_code = -1;
  std::string out;              // stdout
  std::string err;              // stderr
  nlohmann::json Json() const;  // stdout parsed as one JSON object (fails the test otherwise)
};

enum class Caller { kRoot, kNobody };

// Starts hotpatchctl with `args` (through TargetProcess) without waiting for it.
TargetProcess StartCtl(const std::vector<std::string>& args, const std::string& stderr_file,
                       Caller caller = Caller::kRoot);
// Waits for a hotpatchctl started by StartCtl and collects what it printed.
CtlRun FinishCtl(TargetProcess& ctl, const std::string& stderr_file);
// StartCtl + FinishCtl. `scratch` holds the stderr file.
CtlRun RunCtl(const std::vector<std::string>& args, const TempDir& scratch,
              Caller caller = Caller::kRoot);

// Connects to `socket_path`, sends `bytes` as they are, half-closes, returns the first line of
// the answer ("" when the daemon closed without one).
std::string RawExchange(const std::string& socket_path, const std::string& bytes);

// Compiles tests/integration/engine/patches/<name>.c and packs it against `target` as patch
// `id`, into <dir>/<id>.hpb (mode 0644); returns the bundle's path.
std::string BuildBundleFile(const std::string& name, const std::string& target,
                            const std::string& id, const TempDir& dir);
// The same from any C file: `source` is a path relative to the source tree.
std::string BuildBundleFromSource(const std::string& source, const std::string& target,
                                  const std::string& id, const TempDir& dir);

}  // namespace hotpatch::test
