#include "support/target_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <stdexcept>
#include <thread>
#include <utility>

namespace hotpatch::test {

std::string TargetPath(std::string_view name) {
  return std::string(HOTPATCH_TEST_TARGETS_DIR) + "/" + std::string(name);
}
std::string ExamplePath(std::string_view name) {
  return std::string(HOTPATCH_EXAMPLES_DIR) + "/" + std::string(name) + "/" + std::string(name);
}
std::string BinaryDir() { return HOTPATCH_BINARY_DIR; }
std::string SourceDir() { return HOTPATCH_SOURCE_DIR; }

TargetProcess::TargetProcess(const std::string& program, const std::vector<std::string>& args) {
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // Die with the test: PR_SET_PDEATHSIG fires when the forking thread exits, so check for the
    // race where the parent died before prctl ran.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(pipe_fds[1], STDOUT_FILENO);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(program.c_str()));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(program.c_str(), argv.data());
    dprintf(STDERR_FILENO, "exec %s: %s\n", program.c_str(), strerror(errno));
    _exit(127);
  }
  close(pipe_fds[1]);
  stdout_fd_ = pipe_fds[0];
}

TargetProcess::TargetProcess(TargetProcess&& other) noexcept
    : pid_(std::exchange(other.pid_, -1)),
      stdout_fd_(std::exchange(other.stdout_fd_, -1)),
      buffered_(std::move(other.buffered_)),
      reaped_(std::exchange(other.reaped_, true)) {}

TargetProcess::~TargetProcess() {
  if (pid_ > 0 && !reaped_) KillAndWait(SIGKILL);
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

std::string TargetProcess::ReadLine(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto newline = buffered_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffered_.substr(0, newline);
      buffered_.erase(0, newline + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      throw std::runtime_error("timed out reading a line from target pid " + std::to_string(pid_));
    pollfd pfd{stdout_fd_, POLLIN, 0};
    int ready = poll(&pfd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char chunk[4096];
    ssize_t n = read(stdout_fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0)
      throw std::runtime_error("target pid " + std::to_string(pid_) + " closed its stdout");
    buffered_.append(chunk, static_cast<size_t>(n));
  }
}

std::string TargetProcess::WaitForLine(std::string_view prefix, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    std::string line = ReadLine(left.count() > 0 ? left : std::chrono::milliseconds(0));
    if (line.starts_with(prefix)) return line;
  }
}

bool TargetProcess::IsAlive() const {
  if (reaped_) return false;
  siginfo_t info{};
  // WNOWAIT leaves a zombie for the real reap; WNOHANG returns si_pid == 0 while it runs.
  if (waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
  return info.si_pid == 0;
}

int TargetProcess::KillAndWait(int signal) {
  if (reaped_) return 0;
  kill(pid_, signal);
  int status = 0;
  while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  return status;
}

int TargetProcess::WaitForExit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      reaped_ = true;
      return status;
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("target pid " + std::to_string(pid_) + " did not exit in time");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace hotpatch::test
