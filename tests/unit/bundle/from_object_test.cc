// BundleFromObject against a real built target and a patch object compiled by the test.
#include "bundle/from_object.h"

#include <sodium.h>
#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "base/error.h"
#include "bundle/bundle.h"
#include "bundle/carried_eh_frame.h"
#include "elf/elf_file.h"
#include "support/target_process.h"

namespace hotpatch::bundle::test {
namespace {

// A temporary directory, removed with its contents on destruction.
class ScratchDirectory {
 public:
  ScratchDirectory() {
    char name[] = "/tmp/hotpatch-from-object-XXXXXX";
    REQUIRE(mkdtemp(name) != nullptr);
    path_ = name;
  }
  ~ScratchDirectory() { std::filesystem::remove_all(path_); }
  std::string Write(const std::string& name, const std::string& text) const {
    const std::string path = path_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Compiles C sources with the flags a patch generator uses; fails the test on a compiler error.
void Compile(const std::string& arguments) {
  const std::string command = "cc -O2 -fPIE -ffunction-sections -fdata-sections " + arguments;
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
}

const BundleSymbol* FindSymbol(const Bundle& bundle, const std::string& name) {
  for (const BundleSymbol& symbol : bundle.symbols) {
    if (symbol.name == name) return &symbol;
  }
  return nullptr;
}

TEST_CASE("a patch object becomes a bundle for a built target") {
  const ScratchDirectory scratch;
  const std::string source = scratch.Write("patch.c", R"(
#include <stdio.h>
extern volatile int sink;   /* a static of the target: unique, so resolved to it */
void f1(void);              /* a global function of the target */
__attribute__((noinline)) void new_probe(int value) { printf("probe %d\n", value); }
void breakpoint_target(void) {
  sink += 2;
  new_probe(sink);
  if (sink < 0) f1();
}
)");
  Compile("-c -o " + scratch.path() + "/patch.o " + source);
  const auto object = elf::ElfFile::Open(scratch.path() + "/patch.o");
  const auto target = elf::ElfFile::Open(hotpatch::test::TargetPath("unwind_deep_calls"));

  FromObjectOptions options;
  options.patch_id = "breakpoint-fix";
  options.description = "count twice";
  const Bundle bundle = BundleFromObject(object, target, options);

  CHECK(bundle.target_module == "unwind_deep_calls");
  CHECK(bundle.target_build_id == *target.build_id());
  REQUIRE(bundle.replaced.size() == 1);
  const ReplacedFunction& replaced = bundle.replaced[0];
  CHECK(replaced.name == "breakpoint_target");
  const elf::Symbol* original = target.FindSymbols("breakpoint_target").front();
  CHECK(replaced.target_offset == original->value);
  CHECK(replaced.target_size == original->size);
  const auto original_bytes = target.BytesAtAddress(original->value, original->size);
  REQUIRE(original_bytes);
  std::array<uint8_t, 32> expected;
  crypto_hash_sha256(expected.data(), original_bytes->data(), original_bytes->size());
  CHECK(replaced.expected_sha256 == expected);
  CHECK(bundle.symbols[replaced.replacement_symbol].name == "breakpoint_target");

  REQUIRE(bundle.new_functions.size() == 1);
  CHECK(bundle.symbols[bundle.new_functions[0]].name == "new_probe");

  const BundleSymbol* sink = FindSymbol(bundle, "sink");
  REQUIRE(sink != nullptr);
  CHECK(sink->kind == SymbolKind::kTarget);
  CHECK(sink->value == target.FindSymbols("sink").front()->value);
  const BundleSymbol* f1 = FindSymbol(bundle, "f1");
  REQUIRE(f1 != nullptr);
  CHECK(f1->kind == SymbolKind::kTarget);
  CHECK(f1->type == STT_FUNC);
  const BundleSymbol* printf_symbol = FindSymbol(bundle, "printf");
  REQUIRE(printf_symbol != nullptr);
  CHECK(printf_symbol->kind == SymbolKind::kExternal);

  size_t relocations = 0;
  for (const BundleSection& section : bundle.sections) relocations += section.relocations.size();
  CHECK(relocations >= 4);  // sink (twice or once), new_probe, f1, printf, the format string

  // And it is a bundle like any other.
  CHECK(ReadBundle(WriteBundle(bundle)) == bundle);
}

const BundleSection* FindSection(const Bundle& bundle, const std::string& name) {
  for (const BundleSection& section : bundle.sections) {
    if (section.name == name) return &section;
  }
  return nullptr;
}

// Checks that `bundle`'s .eh_frame has one FDE for each non-empty code section, covering all of
// it, relocated against its section symbol, and that the bundle survives write and read (so the
// carried subset's rules hold: CIEs "zR", no relocation but pc_begin's); returns the FDE count.
size_t CheckOneFdePerCodeSection(const Bundle& bundle) {
  // Code sections, as the object has them (the cold part only if GCC split one off).
  std::vector<uint32_t> code_sections;
  for (uint32_t i = 0; i < bundle.sections.size(); ++i) {
    const BundleSection& section = bundle.sections[i];
    if ((section.flags & SHF_EXECINSTR) != 0 && section.size() != 0) code_sections.push_back(i);
  }
  const BundleSection* eh_frame = FindSection(bundle, ".eh_frame");
  REQUIRE(eh_frame != nullptr);
  CHECK(eh_frame == &bundle.sections.back());  // after every carried section
  CHECK(eh_frame->flags == SHF_ALLOC);
  CHECK(eh_frame->alignment == 8);
  std::vector<EhFrameRecord> fdes;
  for (const EhFrameRecord& record : ParseCarriedEhFrame(eh_frame->bytes)) {
    if (!record.is_cie) fdes.push_back(record);
  }
  REQUIRE(fdes.size() == code_sections.size());
  REQUIRE(eh_frame->relocations.size() == fdes.size());
  std::vector<uint32_t> covered;
  for (size_t i = 0; i < fdes.size(); ++i) {
    const BundleRelocation& relocation = eh_frame->relocations[i];
    CHECK(relocation.offset == fdes[i].pc_begin_field);
    CHECK(relocation.type == R_X86_64_PC32);
    const BundleSymbol& symbol = bundle.symbols[relocation.symbol];
    // The section symbol of the function's own section: the FDE covers all of it.
    CHECK(symbol.kind == SymbolKind::kDefined);
    CHECK(symbol.type == STT_SECTION);
    CHECK(relocation.addend == 0);
    CHECK(fdes[i].pc_range == bundle.sections[symbol.section].size());
    covered.push_back(symbol.section);
  }
  std::sort(covered.begin(), covered.end());
  CHECK(covered == code_sections);

  // And it is a bundle like any other.
  CHECK(ReadBundle(WriteBundle(bundle)) == bundle);
  return fdes.size();
}

TEST_CASE("a patch object built without frame pointers carries one FDE per function") {
  const ScratchDirectory scratch;
  // The unlikely path of breakpoint_target goes to .text.unlikely.breakpoint_target (its .cold
  // part), which has an FDE of its own.
  const std::string source = scratch.Write("patch.c", R"(
#include <stdio.h>
extern volatile int sink;
__attribute__((cold, noinline)) void complain(int value) { fprintf(stderr, "bad %d\n", value); }
__attribute__((noinline)) int new_probe(int value) { return value * 3 + sink; }
void breakpoint_target(void) {
  for (int i = 0; i < 4; ++i) {
    if (sink > 1000 + i) {
      complain(i);
      fprintf(stderr, "at %d\n", i);
    }
    sink += new_probe(i);
  }
}
)");
  Compile("-fomit-frame-pointer -c -o " + scratch.path() + "/patch.o " + source);
  const auto object = elf::ElfFile::Open(scratch.path() + "/patch.o");
  const auto target = elf::ElfFile::Open(hotpatch::test::TargetPath("unwind_deep_calls"));
  FromObjectOptions options;
  options.patch_id = "frames";
  const Bundle bundle = BundleFromObject(object, target, options);
  CHECK(CheckOneFdePerCodeSection(bundle) >= 3);  // complain, new_probe, breakpoint_target [.cold]
}

TEST_CASE("a C++ patch object with cleanups carries its FDEs without personality and LSDA") {
  const ScratchDirectory scratch;
  // A landing pad (the destructor runs if Work throws): GCC gives the function a CIE "zPLR" with
  // __gxx_personality_v0 and an LSDA in .gcc_except_table, and moves the landing pad to a .cold
  // part with an FDE and an LSDA of its own.
  const std::string source = scratch.Write("patch.cc", R"(
struct Guard { ~Guard(); };
void Work();
extern "C" void breakpoint_target(void) { Guard guard; Work(); }
)");
  Compile("-fomit-frame-pointer -c -o " + scratch.path() + "/patch.o " + source);
  const auto object = elf::ElfFile::Open(scratch.path() + "/patch.o");
  const auto target = elf::ElfFile::Open(hotpatch::test::TargetPath("unwind_deep_calls"));
  FromObjectOptions options;
  options.patch_id = "cxx-frames";
  const Bundle bundle = BundleFromObject(object, target, options);
  REQUIRE(bundle.replaced.size() == 1);
  CHECK(bundle.replaced[0].name == "breakpoint_target");
  CHECK(CheckOneFdePerCodeSection(bundle) == 2);  // breakpoint_target and its .cold part
}

TEST_CASE("a reference to a static that several target files define is refused with the list") {
  const ScratchDirectory scratch;
  const std::string one = scratch.Write("one.c",
                                        "static int counter = 1;\n"
                                        "__attribute__((noinline)) int one(void) "
                                        "{ return counter++; }\n");
  const std::string two = scratch.Write("two.c",
                                        "static int counter = 2;\n"
                                        "__attribute__((noinline)) int two(void) "
                                        "{ return counter++; }\n");
  const std::string main = scratch.Write(
      "main.c", "int one(void); int two(void);\nint main(void) { return one() + two(); }\n");
  Compile("-pie -Wl,--build-id -o " + scratch.path() + "/two_statics " + one + " " + two + " " +
          main);
  const std::string patch =
      scratch.Write("patch.c", "extern int counter;\nint one(void) { return counter += 2; }\n");
  Compile("-c -o " + scratch.path() + "/patch.o " + patch);

  const auto object = elf::ElfFile::Open(scratch.path() + "/patch.o");
  const auto target = elf::ElfFile::Open(scratch.path() + "/two_statics");
  FromObjectOptions options;
  options.patch_id = "ambiguous";
  try {
    BundleFromObject(object, target, options);
    FAIL("accepted an ambiguous reference");
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kMismatch);
    CHECK_THAT(error.what(), Catch::Contains("symbol counter is ambiguous"));
    CHECK_THAT(error.what(), Catch::Contains("(one.c)"));
    CHECK_THAT(error.what(), Catch::Contains("(two.c)"));
  }
}

}  // namespace
}  // namespace hotpatch::bundle::test
