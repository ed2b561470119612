#include "hostile_fixture.h"

#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "process/maps.h"
#include "process/remote_memory.h"

namespace hotpatch::test {

std::string RunCommand(const std::string& command) {
  std::string output;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, pipe)) > 0) output.append(chunk, n);
  int status = pclose(pipe);
  if (status != 0) throw std::runtime_error("command failed: " + command + "\n" + output);
  return output;
}

std::vector<uint8_t> BuildPatchBundle(const std::string& name, const std::string& target,
                                      const std::string& id) {
  ScratchDirectory dir;
  std::string source = SourceDir() + "/tests/integration/hostile/patches/" + name + ".c";
  std::string object = dir.path() + "/" + name + ".o";
  std::string bundle = dir.path() + "/" + name + ".hpb";
  RunCommand("cc -O2 -g -fPIE -ffunction-sections -fdata-sections -fno-omit-frame-pointer -c " +
             source + " -o " + object);
  RunCommand(BinaryDir() + "/patchgen/hotpatch-gen pack --target " + target + " --object " +
             object + " --id " + id + " -o " + bundle);
  std::ifstream in(bundle, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<uint8_t> SnapshotExecutableCode(pid_t pid) {
  // /proc/PID/exe names the mapped executable even when its path now holds other bytes.
  auto mappings = ReadMappings(pid);
  std::string executable;
  for (const auto& m : mappings)
    if (m.inode != 0 && !m.path.empty()) {
      executable = m.path;  // the first file mapping of a PIE is the executable
      break;
    }
  RemoteMemory memory(pid);
  std::vector<uint8_t> bytes;
  for (const auto& m : mappings) {
    if (!m.executable || m.path != executable) continue;
    auto part = memory.Read(m.range.begin, m.range.size());
    bytes.insert(bytes.end(), part.begin(), part.end());
  }
  if (bytes.empty())
    throw std::runtime_error("no executable mapping in pid " + std::to_string(pid));
  return bytes;
}

std::optional<TraceState> TryReadTraceState(pid_t pid, pid_t tid) {
  std::string path = "/proc/" + std::to_string(pid) +
                     (tid != 0 ? "/task/" + std::to_string(tid) : std::string()) + "/status";
  std::ifstream in(path);
  if (!in) return std::nullopt;
  TraceState state;
  std::string line;
  bool seen = false;
  while (std::getline(in, line)) {
    if (line.rfind("State:", 0) == 0) {
      std::istringstream(line.substr(6)) >> state.state;
      seen = true;
    } else if (line.rfind("TracerPid:", 0) == 0) {
      state.tracer = std::stoi(line.substr(10));
    }
  }
  if (!seen) return std::nullopt;
  return state;
}

namespace {

std::vector<pid_t> NumericEntries(const std::string& directory) {
  std::vector<pid_t> ids;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(directory, error)) {
    const std::string name = entry.path().filename();
    if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos)
      ids.push_back(std::stoi(name));
  }
  return ids;
}

std::string Describe(pid_t pid, pid_t tid, const TraceState& state) {
  return "pid " + std::to_string(pid) + " tid " + std::to_string(tid) + " state " + state.state +
         " TracerPid " + std::to_string(state.tracer) + "\n";
}

}  // namespace

std::string TracedOrStoppedThreads(pid_t pid) {
  std::string found;
  for (pid_t tid : NumericEntries("/proc/" + std::to_string(pid) + "/task")) {
    auto state = TryReadTraceState(pid, tid);
    if (state && (state->tracer != 0 || state->state == 't' || state->state == 'T'))
      found += Describe(pid, tid, *state);
  }
  return found;
}

std::string ProcessesTracedBy(pid_t tracer) {
  std::string found;
  for (pid_t pid : NumericEntries("/proc")) {
    for (pid_t tid : NumericEntries("/proc/" + std::to_string(pid) + "/task")) {
      auto state = TryReadTraceState(pid, tid);
      if (state && state->tracer == tracer) found += Describe(pid, tid, *state);
    }
  }
  return found;
}

ScratchDirectory::ScratchDirectory() {
  char name[] = "/tmp/hotpatch-hostile-XXXXXX";
  if (mkdtemp(name) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = name;
}

ScratchDirectory::~ScratchDirectory() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

ChildProcessGuard::~ChildProcessGuard() {
  if (pid_ <= 0 || reaped_) return;
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, 0);
}

bool ChildProcessGuard::TryWaitForExit(std::chrono::milliseconds timeout, int* status) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    pid_t done = waitpid(pid_, status, WNOHANG);
    if (done == pid_) {
      reaped_ = true;
      return true;
    }
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace hotpatch::test
