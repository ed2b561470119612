#include "generation_benchmark.h"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include "patch_bundles.h"
#include "support/scratch_directory.h"
#include "shell_command.h"

namespace hotpatch::bench {

namespace {

// Functions per translation unit: a program of many objects, as diff's OBJ|DIR arguments expect.
constexpr int kFunctionsPerFile = 100;

// Function i, in its original or changed form. Each calls its predecessor so that the changed
// code references target symbols the generator must resolve.
std::string FunctionSource(int i, bool changed) {
  std::string name = "generated_" + std::to_string(i);
  std::string body = changed ? "return x * " + std::to_string(i + 7) + " - 3"
                             : "return x * " + std::to_string(i) + " + 1";
  std::string call = i % kFunctionsPerFile == 0
                         ? ""
                         : "if (x < 0) return generated_" + std::to_string(i - 1) + "(x + 1);\n  ";
  return "__attribute__((noinline)) int " + name + "(int x) {\n  " + call + body + ";\n}\n";
}

// Writes dir/unit_<n>.c for every file; function i changes when `changed_every` divides i + 1.
void WriteProgram(const std::string& dir, int functions, int changed_every) {
  for (int file = 0; file * kFunctionsPerFile < functions; ++file) {
    std::ofstream out(dir + "/unit_" + std::to_string(file) + ".c");
    int first = file * kFunctionsPerFile;
    for (int i = first; i < std::min(functions, first + kFunctionsPerFile); ++i) {
      if (i % kFunctionsPerFile != 0) out << "int generated_" << i - 1 << "(int x);\n";
      out << FunctionSource(i, changed_every > 0 && (i + 1) % changed_every == 0);
    }
  }
}

bool GeneratorHasDiff(const std::string& generator) {
  return TryRunCommand(generator + " --help").output.find("diff") != std::string::npos;
}

}  // namespace

void RunGenerationBenchmark(int functions, int changed, BenchResults& results) {
  std::string generator = BuiltTool("patchgen/hotpatch-gen");
  if (generator.empty() || !GeneratorHasDiff(generator)) {
    results.notes["generate_s"] = "hotpatch-gen has no diff command yet";
    return;
  }
  test::ScratchDirectory scratch("generation");
  std::string orig = scratch.path() + "/orig";
  std::string patched = scratch.path() + "/patched";
  RunCommand("mkdir -p " + orig + " " + patched);
  WriteProgram(orig, functions, 0);
  WriteProgram(patched, functions, functions / changed);
  std::fprintf(stderr, "generation: compiling 2 x %d functions ...\n", functions);
  std::string flags = "-O2 -g -fPIE -ffunction-sections -fdata-sections -fno-omit-frame-pointer";
  // Both trees at once: the two cores each compile one.
  RunCommand("(cd " + orig + " && cc " + flags + " -c *.c) & (cd " + patched + " && cc " + flags +
             " -c *.c) & wait");
  std::string program = scratch.path() + "/program";
  // main lives outside both trees: it is the same before and after, and diff compares the trees.
  std::ofstream(scratch.path() + "/main.c")
      << "int generated_" << functions - 1
      << "(int x);\nint main(int argc, char** argv) {\n  (void)argv;\n"
      << "  return generated_" << functions - 1 << "(-argc) & 1;\n}\n";
  RunCommand("cc -pie -o " + program + " " + scratch.path() + "/main.c " + orig + "/*.o");
  auto begin = std::chrono::steady_clock::now();
  CommandOutcome outcome =
      TryRunCommand(generator + " diff --target " + program + " --orig " + orig + " --patched " +
                    patched + " -o " + scratch.path() + "/out.hpb --id generated");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - begin).count();
  if (outcome.exit_code != 0) {
    results.notes["generate_s"] = "hotpatch-gen diff failed (exit " +
                                  std::to_string(outcome.exit_code) +
                                  "): " + outcome.output.substr(0, 300);
    return;
  }
  results.generate_s = seconds;
  results.notes["generate"] =
      std::to_string(functions) + " functions in " +
      std::to_string((functions + kFunctionsPerFile - 1) / kFunctionsPerFile) + " objects, " +
      std::to_string(changed) + " changed; hotpatch-gen diff wall time";
}

}  // namespace hotpatch::bench
