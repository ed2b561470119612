// One case of the patch generator's corpus (tests/gen/corpus/<name>/): an original program, a
// fix as a unified diff, and the behaviour expected before, after and after reverting.
//
// A case folder holds the program's sources (*.c, *.cc, also in subfolders; lib*.c go into
// libcase.so, which is then the patch target), fix.diff (applied with `patch -p1` inside the folder), and `expect`:
//   before TEXT      behaviour() of the original program (also expected after the revert)
//   after TEXT       behaviour() once the bundle is applied
//   revert TEXT      behaviour() after the revert, when it differs from `before` (state kept)
//   refuse TEXT      hotpatch-gen diff must fail with TEXT in its message
//   note TEXT        hotpatch-gen diff must print TEXT (e.g. "__LINE__")
//   flags FLAGS      extra compiler flags for both builds
#pragma once

#include <string>
#include <vector>

namespace hotpatch::test {

struct CorpusOutcome {
  std::string generator_output;  // stdout + stderr of hotpatch-gen diff
  bool generated = false;
  std::vector<std::string> values;  // behaviour() before, after, after revert
};

// Builds both versions, runs hotpatch-gen diff, and when it succeeds runs the original, applies
// the bundle through the engine, reverts it, reading behaviour() at each step. Checks the
// expectations with Catch2 assertions.
void RunCorpusCase(const std::string& name);

// Runs a shell command; returns its exit status and fills `output` with stdout + stderr.
int RunShell(const std::string& command, std::string& output);

}  // namespace hotpatch::test
