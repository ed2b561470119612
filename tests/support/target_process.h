// Tests own their processes: a TargetProcess starts a target program as a child and SIGKILLs and
// reaps it in its destructor, so a failing test never leaves a stopped or traced process behind to
// hang CI. The child also gets PR_SET_PDEATHSIG(SIGKILL), which covers the test itself crashing.
//
// Convention for tests/targets programs: they print lines on stdout (line-buffered or flushed),
// the first being "ready" (optionally followed by words) once their threads are running.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace hotpatch::test {

// Path of a built test target ("loop_threads" -> <build>/tests/targets/loop_threads).
std::string TargetPath(std::string_view name);
// Path of a built example program ("minivmx" -> <build>/examples/minivmx/minivmx).
std::string ExamplePath(std::string_view name);
std::string BinaryDir();
std::string SourceDir();

class TargetProcess {
 public:
  // Starts `program` with `args`; stdout is a pipe the test reads, stderr is inherited.
  explicit TargetProcess(const std::string& program, const std::vector<std::string>& args = {});
  TargetProcess(TargetProcess&& other) noexcept;
  TargetProcess& operator=(TargetProcess&&) = delete;
  TargetProcess(const TargetProcess&) = delete;
  ~TargetProcess();

  pid_t pid() const { return pid_; }

  // Next line of the child's stdout, without the newline. Throws on timeout or end of file.
  std::string ReadLine(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Reads lines until one starts with `prefix`; returns it. Throws on timeout or end of file.
  std::string WaitForLine(std::string_view prefix,
                          std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // True while the child has not exited (does not reap it).
  bool IsAlive() const;
  // Sends `signal` and waits for the child to exit; returns the raw wait status.
  int KillAndWait(int signal);
  // Waits for the child to exit on its own; returns the raw wait status. Throws on timeout.
  int WaitForExit(std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  pid_t pid_ = -1;
  int stdout_fd_ = -1;
  std::string buffered_;
  bool reaped_ = false;
};

}  // namespace hotpatch::test
