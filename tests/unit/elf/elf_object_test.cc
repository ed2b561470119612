// Relocatable objects (what hotpatch-gen diffs and what a bundle is) and local symbols, built by
// the system compiler at test time.
#include <elf.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/error.h"
#include "elf/elf_file.h"
#include "support/scratch_directory.h"

using hotpatch::elf::ElfFile;
using hotpatch::elf::Relocation;
using hotpatch::test::RunCommand;
using hotpatch::test::ScratchDirectory;

namespace {

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
}

// `readelf -rW` of an object: section name -> its entries (offset, r_info split, addend).
std::map<std::string, std::vector<Relocation>> ReadelfRelocations(const std::string& path) {
  std::map<std::string, std::vector<Relocation>> result;
  std::istringstream lines(RunCommand("readelf -rW '" + path + "'"));
  std::string line, section;
  while (std::getline(lines, line)) {
    if (line.rfind("Relocation section '", 0) == 0) {
      section = line.substr(20, line.find('\'', 20) - 20);
      result[section];
      continue;
    }
    std::istringstream words(line);
    std::vector<std::string> tokens;
    for (std::string w; words >> w;) tokens.push_back(w);
    if (section.empty() || tokens.size() < 3 || tokens[0] == "Offset") continue;
    Relocation r;
    r.offset = std::stoull(tokens[0], nullptr, 16);
    uint64_t info = std::stoull(tokens[1], nullptr, 16);
    r.type = static_cast<uint32_t>(ELF64_R_TYPE(info));
    r.symbol_index = static_cast<uint32_t>(ELF64_R_SYM(info));
    // "... Sym.Value Sym.Name + 4" or "- 4"; without a symbol only the addend is printed.
    r.addend = static_cast<int64_t>(std::stoull(tokens.back(), nullptr, 16));
    if (tokens[tokens.size() - 2] == "-") r.addend = -r.addend;
    result[section].push_back(r);
  }
  return result;
}

}  // namespace

TEST_CASE("ElfFile reads the relocations of an object as readelf does") {
  ScratchDirectory dir;
  WriteFile(dir / "patch.c", R"(
    #include <stdio.h>
    int counter;
    static const char* names[] = {"one", "two", "three"};
    int patched_function(int x) {
      counter += x;
      printf("%s %d\n", names[x % 3], counter);
      return counter - 4;
    }
  )");
  RunCommand("cc -O2 -fPIC -ffunction-sections -fdata-sections -c -o '" + (dir / "patch.o") +
             "' '" + (dir / "patch.c") + "'");
  ElfFile object = ElfFile::Open(dir / "patch.o");
  CHECK(object.type() == ET_REL);
  CHECK(object.segments().empty());
  CHECK(object.first_load_vaddr() == 0);
  CHECK_FALSE(object.build_id().has_value());
  CHECK(object.build_id_hex().empty());
  REQUIRE(object.FindSection(".text.patched_function") != nullptr);
  REQUIRE(object.FindSection(".rela.text.patched_function") != nullptr);

  auto expected = ReadelfRelocations(dir / "patch.o");
  REQUIRE(expected.count(".rela.text.patched_function") == 1);
  size_t rela_sections = 0;
  for (const auto& section : object.sections()) {
    if (section.type != SHT_RELA) continue;
    ++rela_sections;
    INFO(section.name);
    auto relocations = object.Relocations(section);
    const auto& want = expected[section.name];
    REQUIRE(relocations.size() == want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      CHECK(relocations[i].offset == want[i].offset);
      CHECK(relocations[i].type == want[i].type);
      CHECK(relocations[i].symbol_index == want[i].symbol_index);
      CHECK(relocations[i].addend == want[i].addend);
    }
  }
  CHECK(rela_sections == expected.size());

  // The call to printf names the printf symbol.
  std::set<std::string> called;
  for (const auto& r : object.Relocations(*object.FindSection(".rela.text.patched_function"))) {
    REQUIRE(r.symbol_index < object.symbols().size());
    if (r.type == R_X86_64_PLT32) called.insert(object.symbols()[r.symbol_index].name);
  }
  CHECK(called.count("printf") == 1);

  // Not a RELA section.
  CHECK_THROWS_AS(object.Relocations(*object.FindSection(".text.patched_function")),
                  hotpatch::Error);
}

TEST_CASE("Local symbols of the same name are told apart by their source file") {
  ScratchDirectory dir;
  WriteFile(dir / "first.c",
            "__attribute__((noinline)) static int helper(int x) { return x + 1; }\n"
            "int first_entry(int x) { return helper(x); }\n");
  WriteFile(dir / "second.c",
            "__attribute__((noinline)) static int helper(int x) { return x * 5 + 2; }\n"
            "int second_entry(int x) { return helper(x); }\n");
  WriteFile(dir / "main.c",
            "int first_entry(int); int second_entry(int);\n"
            "int main(int argc, char** argv) { (void)argv; return first_entry(argc) + "
            "second_entry(argc); }\n");
  // -O0 keeps the name `helper` (no .constprop/.isra clones); relative names are what the
  // compiler records in STT_FILE.
  RunCommand("cd '" + dir.path() + "' && cc -O0 -o program first.c second.c main.c");
  ElfFile program = ElfFile::Open(dir / "program");

  auto helpers = program.FindSymbols("helper");
  REQUIRE(helpers.size() == 2);
  std::set<std::string> files;
  for (const auto* helper : helpers) {
    CHECK(helper->binding == STB_LOCAL);
    CHECK(helper->type == STT_FUNC);
    CHECK_FALSE(helper->dynamic);
    files.insert(helper->source_file);
    CHECK(program.FunctionContaining(helper->value + 1) == helper);
  }
  CHECK(files == std::set<std::string>{"first.c", "second.c"});
  CHECK(helpers[0]->value != helpers[1]->value);
  // Globals carry no source file.
  auto entry = program.FindSymbols("first_entry");
  REQUIRE(entry.size() == 1);
  CHECK(entry[0]->source_file.empty());
}
