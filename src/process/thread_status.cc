#include "process/thread_status.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <fstream>
#include <memory>
#include <string_view>
#include <vector>

#include "base/error.h"
#include "base/unique_fd.h"

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

std::optional<BlockedThreadSite> TryReadBlockedThreadSite(pid_t pid, pid_t tid) {
  UniqueFd file(::open((TaskPath(pid, tid) + "/syscall").c_str(), O_RDONLY | O_CLOEXEC));
  if (!file.valid()) return std::nullopt;
  char text[256];
  ssize_t size = ::read(file.get(), text, sizeof text - 1);
  if (size <= 0) return std::nullopt;
  // "NR arg1 .. arg6 sp pc" in a system call, "-1 sp pc" blocked outside one (a page fault), or
  // "running" (proc_pid_syscall); the numbers after NR in hex with 0x.
  std::vector<std::string_view> fields;
  std::string_view rest(text, static_cast<size_t>(size));
  while (!rest.empty()) {
    size_t begin = rest.find_first_not_of(" \n");
    if (begin == std::string_view::npos) break;
    rest.remove_prefix(begin);
    size_t end = std::min(rest.find_first_of(" \n"), rest.size());
    fields.push_back(rest.substr(0, end));
    rest.remove_prefix(end);
  }
  if (fields.size() != 9 && fields.size() != 3) return std::nullopt;
  auto hex = [](std::string_view field, uint64_t& value) {
    if (!field.starts_with("0x")) return false;
    auto [end, ec] = std::from_chars(field.data() + 2, field.data() + field.size(), value, 16);
    return ec == std::errc() && end == field.data() + field.size();
  };
  BlockedThreadSite site;
  if (!hex(fields[fields.size() - 2], site.stack_pointer) || !hex(fields.back(), site.pc))
    return std::nullopt;
  return site;
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
