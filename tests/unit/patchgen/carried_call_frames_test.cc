// `hotpatch-gen diff` carries the compiler's call frame information of the patched code
// (bundle/carried_eh_frame.h): one .eh_frame section for the whole bundle, one FDE for each
// carried piece of code, each relocated against that code's section. The objects are built here
// by the system compiler without frame pointers, as a distribution builds them: then only the
// CFI can unwind a thread stopped in the patch code.
#include <elf.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "bundle/carried_eh_frame.h"
#include "support/scratch_directory.h"
#include "support/target_process.h"

namespace hotpatch::patchgen {
namespace {

using hotpatch::test::RunCommand;

constexpr char kFlags[] = "-O2 -fPIE -fomit-frame-pointer -ffunction-sections -fdata-sections";

// Builds the sources `files` (names without extension, `extension` ".c" or ".cc", compiled by
// `compiler`) of work/orig and work/patched, links the target from the original objects and
// returns the bundle `hotpatch-gen diff` makes; `output` gets what it printed.
bundle::Bundle DiffTrees(const hotpatch::test::ScratchDirectory& work, const std::string& compiler,
                         const std::vector<std::string>& files, const std::string& extension,
                         std::string& output) {
  std::string objects;
  for (const char* tree : {"orig", "patched"}) {
    for (const std::string& file : files) {
      const std::string stem = work / tree + "/" + file;
      RunCommand(compiler + " " + kFlags + " -c " + stem + extension + " -o " + stem + ".o");
      if (std::string(tree) == "orig") objects += " " + stem + ".o";
    }
  }
  RunCommand(compiler + " -pie" + objects + " -o " + (work / "program"));
  output = RunCommand(hotpatch::test::BinaryDir() + "/patchgen/hotpatch-gen diff --target " +
                      (work / "program") + " --orig " + (work / "orig") + " --patched " +
                      (work / "patched") + " -o " + (work / "out.hpb"));
  std::ifstream in(work / "out.hpb", std::ios::binary);
  const std::vector<uint8_t> file{std::istreambuf_iterator<char>(in),
                                  std::istreambuf_iterator<char>()};
  return bundle::ReadBundle(file);
}

// The tests/gen/corpus case `name` built before and after its fix.diff, the target linked from
// the original objects with the corpus harness; returns the bundle `hotpatch-gen diff` makes.
bundle::Bundle DiffCorpusCase(const hotpatch::test::ScratchDirectory& work, const std::string& name,
                              std::string& output) {
  const std::string corpus = hotpatch::test::SourceDir() + "/tests/gen/corpus";
  RunCommand("cd " + work.path() + " && mkdir orig patched && cp " + corpus + "/" + name +
             "/case.c " + corpus + "/harness.c orig/ && cp orig/*.c patched/ && patch -s -p1 -d " +
             "patched < " + corpus + "/" + name + "/fix.diff");
  return DiffTrees(work, "cc", {"case", "harness"}, ".c", output);
}

const bundle::BundleSection* FindSection(const bundle::Bundle& b, const std::string& name) {
  for (const bundle::BundleSection& section : b.sections) {
    if (section.name == name) return &section;
  }
  return nullptr;
}

// The names of the code sections the bundle's FDEs cover, one entry per FDE.
std::vector<std::string> CoveredSections(const bundle::Bundle& b) {
  const bundle::BundleSection* eh_frame = FindSection(b, ".eh_frame");
  REQUIRE(eh_frame != nullptr);
  size_t fdes = 0;
  for (const bundle::EhFrameRecord& record : bundle::ParseCarriedEhFrame(eh_frame->bytes)) {
    fdes += record.is_cie ? 0 : 1;
  }
  REQUIRE(eh_frame->relocations.size() == fdes);
  std::vector<std::string> covered;
  for (const bundle::BundleRelocation& relocation : eh_frame->relocations) {
    const bundle::BundleSymbol& symbol = b.symbols[relocation.symbol];
    CHECK(symbol.type == STT_SECTION);
    covered.push_back(b.sections[symbol.section].name);
  }
  std::sort(covered.begin(), covered.end());
  return covered;
}

TEST_CASE("diff carries one FDE per changed function, its .cold part included") {
  const hotpatch::test::ScratchDirectory work("carried-call-frames");
  std::string output;
  const bundle::Bundle b = DiffCorpusCase(work, "cold_part", output);
  INFO(output);
  REQUIRE(b.replaced.size() == 1);
  CHECK(b.replaced[0].name == "checked_sum");
  CHECK(CoveredSections(b) ==
        std::vector<std::string>{".text.checked_sum", ".text.unlikely.checked_sum"});
  CHECK(b.sections.back().name == ".eh_frame");  // after the carried sections
  CHECK_THAT(output, !Catch::Contains("without call frame information"));
}

TEST_CASE("diff carries the FDEs of new functions too") {
  const hotpatch::test::ScratchDirectory work("carried-call-frames");
  std::string output;
  const bundle::Bundle b = DiffCorpusCase(work, "new_function", output);
  INFO(output);
  // Every carried function has its FDE, and nothing else does.
  std::vector<std::string> code;
  for (const bundle::BundleSection& section : b.sections) {
    if ((section.flags & SHF_EXECINSTR) != 0) code.push_back(section.name);
  }
  std::sort(code.begin(), code.end());
  CHECK(code.size() >= 2);  // the changed caller and the function it now calls
  CHECK(CoveredSections(b) == code);
}

// A C++ function with a cleanup: GCC gives it and its .cold part (the landing pad) a CIE "zPLR"
// with __gxx_personality_v0 and an LSDA each. Their FDEs are carried with a "zR" CIE, without the
// LSDA pointers, and no note says that code goes without call frame information.
TEST_CASE("diff carries the FDEs of a C++ function with cleanups, personality and LSDA dropped") {
  const hotpatch::test::ScratchDirectory work("carried-call-frames");
  const std::string source = R"(#include <cstdio>
struct Guard {
  ~Guard() { std::puts("checked"); }
};
__attribute__((noinline)) void Work(int x) {
  if (x < 0) throw x;
}
__attribute__((noinline)) int Checked(int x) {
  Guard guard;
  Work(x);
  return x + 1;
}
int main(int argc, char**) { return Checked(argc) == 0; }
)";
  RunCommand("mkdir " + (work / "orig") + " " + (work / "patched"));
  std::ofstream(work / "orig/checked.cc") << source;
  std::string patched = source;
  patched.replace(patched.find("x + 1"), 5, "x + 2");
  std::ofstream(work / "patched/checked.cc") << patched;
  std::string output;
  const bundle::Bundle b = DiffTrees(work, "g++", {"checked"}, ".cc", output);
  INFO(output);
  // What the rewrite is about.
  CHECK_THAT(RunCommand("readelf -wf " + (work / "patched/checked.o")),
             Catch::Contains("Augmentation:          \"zPLR\""));
  REQUIRE(b.replaced.size() == 1);
  CHECK(b.replaced[0].name == "_Z7Checkedi");
  CHECK(CoveredSections(b) ==
        std::vector<std::string>{".text._Z7Checkedi", ".text.unlikely._Z7Checkedi"});
  CHECK_THAT(output, !Catch::Contains("without call frame information"));
  const bundle::BundleSection* eh_frame = FindSection(b, ".eh_frame");
  REQUIRE(eh_frame != nullptr);
  for (const bundle::EhFrameRecord& record : bundle::ParseCarriedEhFrame(eh_frame->bytes)) {
    if (record.is_cie) continue;
    CHECK(eh_frame->bytes[record.offset + 16] == 0);  // augmentation data length: no LSDA
  }
}

}  // namespace
}  // namespace hotpatch::patchgen
