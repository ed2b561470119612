#include "process/thread_status.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <memory>

#include "base/error.h"

namespace hotpatch {

namespace {

std::string TaskPath(pid_t pid, pid_t tid) {
  return "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid);
}

}  // namespace

std::vector<pid_t> ListThreads(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/task";
  std::unique_ptr<DIR, int (*)(DIR*)> dir(::opendir(path.c_str()), ::closedir);
  if (!dir) {
    int err = errno;
    throw ErrnoError("list threads of pid " + std::to_string(pid) + " (" + path + ")",
                     err == ENOENT ? ESRCH : err);
  }
  std::vector<pid_t> tids;
  while (dirent* entry = ::readdir(dir.get())) {
    std::string_view name(entry->d_name);
    pid_t tid = 0;
    auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), tid);
    if (ec == std::errc() && end == name.data() + name.size()) tids.push_back(tid);
  }
  std::sort(tids.begin(), tids.end());
  return tids;
}

std::optional<size_t> TryCountThreads(pid_t pid) {
  struct stat task {};
  if (::stat(("/proc/" + std::to_string(pid) + "/task").c_str(), &task) != 0 || task.st_nlink < 2)
    return std::nullopt;
  return task.st_nlink - 2;
}

std::string ReadThreadName(pid_t pid, pid_t tid) {
  std::ifstream comm(TaskPath(pid, tid) + "/comm");
  std::string name;
  std::getline(comm, name);
  return name;
}

std::optional<TaskStatus> TryReadTaskStatus(pid_t pid, pid_t tid) {
  std::ifstream file(TaskPath(pid, tid) + "/status");
  if (!file) return std::nullopt;
  TaskStatus status;
  bool seen_state = false;
  std::string line;
  while (std::getline(file, line)) {
    if (line.starts_with("State:")) {
      auto letter = line.find_first_not_of(" \t", 6);
      if (letter != std::string::npos) status.state = line[letter];
      seen_state = true;
    } else if (line.starts_with("TracerPid:")) {
      status.tracer_pid = std::stoi(line.substr(10));
    }
  }
  if (!seen_state) return std::nullopt;
  return status;
}

bool IsThreadOf(pid_t pid, pid_t tid) {
  return ::access(TaskPath(pid, tid).c_str(), F_OK) == 0;
}

std::string DescribeThreadState(pid_t pid, pid_t tid) {
  std::ifstream status(TaskPath(pid, tid) + "/status");
  std::string state;
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("State:")) {
      state = line.substr(line.find_first_not_of(" \t", 6));
      break;
    }
  }
  if (state.empty()) return "gone";
  std::ifstream wchan_file(TaskPath(pid, tid) + "/wchan");
  std::string wchan;
  std::getline(wchan_file, wchan);
  // wchan reads "0" for a thread that is running or in a ptrace-stop.
  if (wchan.empty() || wchan == "0") return "state " + state;
  return "state " + state + ", waiting in " + wchan;
}

}  // namespace hotpatch
