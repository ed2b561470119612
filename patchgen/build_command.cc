// hotpatch-gen build --target BIN --source DIR --patch FIX.diff [--build CMD] -o OUT.hpb
//                    [--id NAME] [--description TEXT] [--debug-file FILE] [--keep-temp]
// Copies the source tree twice into a temporary directory (original/ and patched/, the second
// with `patch -p1`), builds both with the project's own command (default: make) through a
// compiler wrapper, and diffs the objects that differ (diff_passes.h).
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "base/error.h"
#include "command_line.h"
#include "commands.h"
#include "diff_passes.h"

namespace hotpatch::patchgen {

namespace {

namespace fs = std::filesystem;

class BuildDirectory {
 public:
  explicit BuildDirectory(bool keep) : keep_(keep) {
    char pattern[] = "/tmp/hotpatch-gen-build-XXXXXX";
    if (mkdtemp(pattern) == nullptr) throw ErrnoError("mkdtemp /tmp/hotpatch-gen-build-XXXXXX");
    path_ = pattern;
  }
  ~BuildDirectory() {
    if (keep_) {
      std::cerr << "hotpatch-gen build: kept " << path_ << "\n";
      return;
    }
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  BuildDirectory(const BuildDirectory&) = delete;
  BuildDirectory& operator=(const BuildDirectory&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  bool keep_;
};

// Version control data, existing build trees (any directory with a CMakeCache.txt) and object
// files are not part of the source: copying them is slow, and an object already there would not
// be rebuilt through the wrapper.
bool SkippedDirectory(const fs::path& directory) {
  return directory.filename() == ".git" || fs::exists(directory / "CMakeCache.txt");
}

void CopySourceTree(const fs::path& from, const fs::path& to) {
  fs::create_directories(to);
  for (const auto& entry : fs::directory_iterator(from)) {
    const fs::path target = to / entry.path().filename();
    if (entry.is_directory() && !entry.is_symlink()) {
      if (!SkippedDirectory(entry.path())) CopySourceTree(entry.path(), target);
    } else if (entry.path().extension() != ".o") {
      fs::copy(entry.path(), target, fs::copy_options::copy_symlinks);
    }
  }
}

std::string ShellQuote(const std::string& text) {
  std::string quoted = "'";
  for (char c : text) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

// Runs `command` with /bin/sh in `directory`; its output goes to `log`. Throws naming the step.
void RunStep(const std::string& what, const std::string& command, const std::string& directory,
             const std::string& log) {
  const std::string line =
      "cd " + ShellQuote(directory) + " && (" + command + ") >>" + ShellQuote(log) + " 2>&1";
  const int status = std::system(line.c_str());
  if (status != 0) {
    std::ifstream in(log);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (text.size() > 4000) text = "..." + text.substr(text.size() - 4000);
    throw Error(ErrorCode::kBadRequest, what + " failed (" + command + "):\n" + text);
  }
}

// The wrapper appends the flags the diff needs, so they win over the project's own
// (-fno-function-sections ...): one section per function and datum, DWARF for the layout checks
// (-g never changes the generated code), and file names as in the real source tree, so that
// __FILE__ strings and debug info do not differ between the two copies.
void WriteCompilerWrapper(const fs::path& path, const std::string& real_compiler) {
  std::ofstream out(path);
  out << "#!/bin/sh\n"
         "exec "
      << real_compiler
      << " \"$@\" -ffunction-sections -fdata-sections -g "
         "-ffile-prefix-map=\"$HOTPATCH_GEN_COPY\"=\"$HOTPATCH_GEN_SOURCE\"\n";
  out.close();
  fs::permissions(path, fs::perms::owner_all | fs::perms::group_read | fs::perms::group_exec |
                            fs::perms::others_read | fs::perms::others_exec);
}

void BuildCopy(const std::string& what, const fs::path& copy, const fs::path& source,
               const fs::path& wrappers, const std::string& command, const std::string& log) {
  const std::string environment = "HOTPATCH_GEN_COPY=" + ShellQuote(copy.string()) +
                                  " HOTPATCH_GEN_SOURCE=" + ShellQuote(source.string()) +
                                  " CC=" + ShellQuote((wrappers / "cc").string()) +
                                  " CXX=" + ShellQuote((wrappers / "c++").string()) + " ";
  RunStep("building the " + what + " source", environment + command, copy.string(), log);
}

std::vector<uint8_t> FileBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

// Links the objects that differ between the two builds into diff/orig and diff/patched, under
// their paths relative to the build, so that LoadObjects pairs them.
size_t CollectChangedObjects(const fs::path& orig, const fs::path& patched, const fs::path& out) {
  size_t changed = 0;
  for (const auto& entry : fs::recursive_directory_iterator(patched)) {
    if (!entry.is_regular_file() || entry.path().extension() != ".o") continue;
    const fs::path relative = fs::relative(entry.path(), patched);
    const fs::path original = orig / relative;
    const bool is_new = !fs::exists(original);
    if (!is_new && FileBytes(original) == FileBytes(entry.path())) continue;
    fs::create_directories((out / "patched" / relative).parent_path());
    fs::copy_file(entry.path(), out / "patched" / relative);
    if (!is_new) {
      fs::create_directories((out / "orig" / relative).parent_path());
      fs::copy_file(original, out / "orig" / relative);
    }
    ++changed;
  }
  fs::create_directories(out / "orig");
  return changed;
}

}  // namespace

int BuildCommand(const std::vector<std::string>& args) {
  auto parsed = ParseArguments(args,
                               {"--target", "--source", "--patch", "--build", "-o", "--id",
                                "--description", "--debug-file", "--placement"},
                               {"--keep-temp"});
  if (!parsed.positional.empty())
    throw UsageError("unexpected argument " + parsed.positional.front());
  const fs::path source = fs::absolute(parsed.Required("--source"));
  const fs::path fix = fs::absolute(parsed.Required("--patch"));
  const std::string command = parsed.Optional("--build").value_or("make");
  if (!fs::is_directory(source)) {
    throw Error(ErrorCode::kNotFound, "--source " + source.string() + " is not a directory");
  }
  if (!fs::exists(fix))
    throw Error(ErrorCode::kNotFound, "--patch " + fix.string() + ": no such file");

  DiffSession session;
  DiffOptions& options = session.options;
  options.target_path = parsed.Required("--target");
  options.debug_file = parsed.Optional("--debug-file");
  options.output = parsed.Required("-o");
  options.patch_id = parsed.Optional("--id").value_or(fs::path(options.output).stem().string());
  options.description = parsed.Optional("--description").value_or("");
  options.preferred_placement = ParsePlacement(parsed.Optional("--placement").value_or("auto"));
  options.created_unix = static_cast<uint64_t>(std::time(nullptr));

  BuildDirectory work(parsed.Optional("--keep-temp").has_value());
  const fs::path root = work.path();
  const std::string log = (root / "build.log").string();
  const fs::path orig = root / "original", patched = root / "patched", wrappers = root / "bin";
  CopySourceTree(source, orig);
  CopySourceTree(source, patched);
  RunStep("applying " + fix.string(), "patch -p1 --batch < " + ShellQuote(fix.string()),
          patched.string(), log);
  fs::create_directories(wrappers);
  WriteCompilerWrapper(wrappers / "cc", "cc");
  WriteCompilerWrapper(wrappers / "c++", "c++");
  std::cout << "building the original source in " << orig.string() << "\n" << std::flush;
  BuildCopy("original", orig, source, wrappers, command, log);
  std::cout << "building the patched source in " << patched.string() << "\n" << std::flush;
  BuildCopy("patched", patched, source, wrappers, command, log);

  const fs::path changed = root / "diff";
  if (CollectChangedObjects(orig, patched, changed) == 0) {
    throw Error(ErrorCode::kBadRequest, "the patch changed no object file: nothing to patch");
  }
  options.orig_roots = {(changed / "orig").string()};
  options.patched_roots = {(changed / "patched").string()};
  const bundle::Bundle b = RunDiff(session);
  WriteBundleFile(options.output, bundle::WriteBundle(b));
  PrintBundleSummary(b, options.output, session.notes);
  return 0;
}

}  // namespace hotpatch::patchgen
