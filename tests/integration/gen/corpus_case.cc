#include "corpus_case.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include "engine/engine.h"
#include "support/target_process.h"

namespace hotpatch::test {
namespace {

namespace fs = std::filesystem;

// The flags hotpatch-gen build adds, plus those the engine tests use for targets: optimised
// (so the compiler clones and inlines), PIE, debug info for the layout checks.
constexpr char kCompileFlags[] =
    "-O2 -g -fno-omit-frame-pointer -ffunction-sections -fdata-sections";

class TemporaryDirectory {
 public:
  TemporaryDirectory() {
    char pattern[] = "/tmp/hotpatch-gen-corpus-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TemporaryDirectory() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::multimap<std::string, std::string> ReadExpectations(const std::string& path) {
  std::ifstream in(path);
  REQUIRE(in.good());
  std::multimap<std::string, std::string> expect;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    const size_t space = line.find(' ');
    expect.emplace(line.substr(0, space), space == std::string::npos ? "" : line.substr(space + 1));
  }
  return expect;
}

std::string Expected(const std::multimap<std::string, std::string>& expect, const std::string& key,
                     const std::string& fallback = "") {
  const auto found = expect.find(key);
  return found == expect.end() ? fallback : found->second;
}

// Compiles every source of `dir` in parallel and links the program (and libcase.so when the
// case has lib*.c sources). Returns the path of the patch target.
std::string BuildCase(const std::string& dir, const std::string& extra_flags, bool link) {
  const std::string flags = std::string(kCompileFlags) + " " + extra_flags;
  std::string script = "cd " + dir + " || exit 1; pids=; ";
  std::vector<std::string> program_objects, library_objects;
  bool cplusplus = false;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    // Relative paths, as a build system passes them: DWARF names the unit after them.
    const fs::path source = fs::relative(entry.path(), dir);
    const std::string extension = source.extension().string();
    if (extension != ".c" && extension != ".cc") continue;
    const bool library = source.filename().string().starts_with("lib");
    const std::string object = fs::path(source).replace_extension(".o").string();
    cplusplus = cplusplus || extension == ".cc";
    const std::string compiler = extension == ".cc" ? "g++ -std=c++17" : "cc";
    script += compiler + " " + flags + (library ? " -fPIC" : " -fPIE") + " -c " + source.string() +
              " -o " + object + " & pids=\"$pids $!\"; ";
    (library ? library_objects : program_objects).push_back(object);
  }
  script += "for p in $pids; do wait $p || exit 1; done";
  const std::string linker = cplusplus ? "g++" : "cc";
  std::string target = dir + "/program";
  if (link) {
    if (!library_objects.empty()) {
      script += " && " + linker + " -shared -o libcase.so";
      for (const auto& object : library_objects) script += " " + object;
      target = dir + "/libcase.so";
    }
    script += " && " + linker + " -pie -o program";
    for (const auto& object : program_objects) script += " " + object;
    if (!library_objects.empty()) script += " -L. -lcase -Wl,-rpath," + dir;
    script += " -lpthread";
  }
  std::string output;
  INFO(output);
  if (RunShell(script, output) != 0) FAIL("build of " + dir + " failed:\n" + output);
  return target;
}

std::string AskBehaviour(TargetProcess& target) {
  kill(target.pid(), SIGUSR1);
  return target.WaitForLine("value ").substr(6);
}

}  // namespace

int RunShell(const std::string& command, std::string& output) {
  output.clear();
  FILE* pipe = popen(("(" + command + ") 2>&1").c_str(), "r");
  if (pipe == nullptr) return -1;
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, pipe)) > 0) output.append(chunk, n);
  const int status = pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

void RunCorpusCase(const std::string& name) {
  const std::string case_dir = SourceDir() + "/tests/gen/corpus/" + name;
  const auto expect = ReadExpectations(case_dir + "/expect");
  TemporaryDirectory work;
  const std::string orig = work.path() + "/orig";
  const std::string patched = work.path() + "/patched";
  for (const std::string& copy : {orig, patched}) {
    fs::copy(case_dir, copy, fs::copy_options::recursive);
    fs::copy_file(SourceDir() + "/tests/gen/corpus/harness.c", copy + "/harness.c");
  }
  std::string output;
  REQUIRE(RunShell("patch -s -p1 -d " + patched + " < " + case_dir + "/fix.diff", output) == 0);
  const std::string flags = Expected(expect, "flags");
  const std::string target = BuildCase(orig, flags, true);
  BuildCase(patched, flags, false);

  const std::string bundle = work.path() + "/fix.hpb";
  const int status =
      RunShell(BinaryDir() + "/patchgen/hotpatch-gen diff --target " + target + " --orig " + orig +
                   " --patched " + patched + " --id " + name + " -o " + bundle,
               output);
  INFO("hotpatch-gen diff said:\n" << output);
  const std::string refusal = Expected(expect, "refuse");
  if (!refusal.empty()) {
    CHECK(status == 1);
    CHECK_THAT(output, Catch::Matchers::Contains(refusal));
    return;
  }
  REQUIRE(status == 0);
  for (auto [it, end] = expect.equal_range("note"); it != end; ++it) {
    CHECK_THAT(output, Catch::Matchers::Contains(it->second));
  }
  std::ifstream in(bundle, std::ios::binary);
  const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                                   std::istreambuf_iterator<char>());

  TargetProcess process(work.path() + "/orig/program");
  process.WaitForLine("ready");
  const std::string before = Expected(expect, "before");
  CHECK(AskBehaviour(process) == before);
  const ApplyResult applied = ApplyBundle(process.pid(), bytes, ApplyOptions{});
  CHECK(applied.patch_id == name);
  CHECK(AskBehaviour(process) == Expected(expect, "after"));
  RevertPatches(process.pid(), RevertOptions{});
  CHECK(AskBehaviour(process) == Expected(expect, "revert", before));
  CHECK(process.IsAlive());
}

}  // namespace hotpatch::test
