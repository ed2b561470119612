#include "engine_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

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
                                      const std::string& id, const std::string& extra_flags) {
  char dir_template[] = "/tmp/hotpatch-engine-test-XXXXXX";
  std::string dir = mkdtemp(dir_template);
  std::string source = SourceDir() + "/tests/integration/engine/patches/" + name + ".c";
  std::string object = dir + "/" + name + ".o";
  std::string bundle = dir + "/" + name + ".hpb";
  // Position-independent, one section per function and object (what hotpatch-gen build adds),
  // frame pointers like the test targets; `extra_flags` come last and may undo them (a walk
  // through patch code uses the bundle's own CFI either way).
  RunCommand("cc -O2 -g -fPIE -ffunction-sections -fdata-sections -fno-omit-frame-pointer " +
             extra_flags + " -c " + source + " -o " + object);
  RunCommand(BinaryDir() + "/patchgen/hotpatch-gen pack --target " + target + " --object " +
             object + " --id " + id + " -o " + bundle);
  std::ifstream in(bundle, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  RunCommand("rm -rf " + dir);
  return bytes;
}

std::vector<uint8_t> SnapshotCode(pid_t pid, const std::string& executable) {
  RemoteMemory memory(pid);
  std::vector<uint8_t> bytes;
  for (const auto& m : ReadMappings(pid)) {
    if (!m.executable || m.path != executable) continue;
    auto part = memory.Read(m.range.begin, m.range.size());
    bytes.insert(bytes.end(), part.begin(), part.end());
  }
  if (bytes.empty()) throw std::runtime_error("no executable mapping of " + executable);
  return bytes;
}

}  // namespace hotpatch::test
