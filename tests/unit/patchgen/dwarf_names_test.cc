// How the generator finds an object's symbols in its DWARF (src/elf/dwarf_types.h): GCC gives no
// DW_AT_linkage_name to functions and variables of internal linkage, so a mangled symbol such as
// _ZN12_GLOBAL__N_16TripleEi must be found under "(anonymous namespace)::Triple". The objects are
// compiled here by the system g++, as the generator's inputs are.
#include <stdlib.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>

#include "elf/dwarf_types.h"

namespace hotpatch::elf {
namespace {

namespace fs = std::filesystem;

struct CompiledObject {
  explicit CompiledObject(const std::string& source) {
    char pattern[] = "/tmp/hotpatch-dwarf-names-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    dir = pattern;
    std::ofstream(dir + "/unit.cc") << source;
    const std::string command = "g++ -std=c++17 -O2 -g -ffunction-sections -fdata-sections -c " +
                                dir + "/unit.cc -o " + dir + "/unit.o";
    REQUIRE(WEXITSTATUS(system(command.c_str())) == 0);
    summary = ReadDwarfSummary(dir + "/unit.o");
  }
  ~CompiledObject() {
    std::error_code ignored;
    fs::remove_all(dir, ignored);
  }
  std::string dir;
  DwarfSummary summary;
};

constexpr char kSource[] = R"(
struct Settings { int verbose; long limit; };
struct Point { int x, y; };
namespace {
Settings hidden_settings = {1, 2};
__attribute__((noinline)) int Triple(Point p) { return 3 * p.x + hidden_settings.verbose; }
__attribute__((noinline)) int Twice(int x) { return 2 * x; }
__attribute__((noinline)) int Twice(Point p) { return 2 * p.y; }
class Widget {
 public:
  __attribute__((noinline)) int Size() const;
  int size = 4;
};
int Widget::Size() const { return size * hidden_settings.verbose; }
}  // namespace
namespace outer { Settings named_settings = {3, 4}; }
extern Settings shared_settings;
static __attribute__((noinline)) int Local(int x) { return x + shared_settings.verbose; }
int Use(int x) {
  Widget w;
  return Triple({x, x}) + Twice(x) + Twice(Point{x, x}) + w.Size() + Local(x) +
         outer::named_settings.verbose;
}
)";

TEST_CASE("functions of internal linkage are found by their demangled, qualified name") {
  CompiledObject object(kSource);
  REQUIRE(object.summary.has_debug_info);
  const DwarfFunction* triple = object.summary.FindFunction("_ZN12_GLOBAL__N_16TripleE5Point");
  REQUIRE(triple != nullptr);
  CHECK(triple->name == "(anonymous namespace)::Triple");
  CHECK(triple->used_types.count("struct Point") == 1);
  CHECK(triple->signature == "int(struct Point)");
  CHECK(!triple->overloaded);
  // IPA clones are described by their source function.
  CHECK(object.summary.FindFunction("_ZN12_GLOBAL__N_16TripleE5Point.isra.0") == triple);

  const DwarfFunction* size = object.summary.FindFunction("_ZNK12_GLOBAL__N_16Widget4SizeEv");
  REQUIRE(size != nullptr);
  CHECK(size->name == "(anonymous namespace)::Widget::Size");
  CHECK(size->used_types.count("class Widget") == 1);  // through `this`

  const DwarfFunction* local = object.summary.FindFunction("_ZL5Locali");
  REQUIRE(local != nullptr);
  CHECK(local->name == "Local");
  CHECK(local->signature == "int(int)");
}

TEST_CASE("overloads of internal linkage share a key and are marked overloaded") {
  CompiledObject object(kSource);
  const DwarfFunction* twice = object.summary.FindFunction("_ZN12_GLOBAL__N_15TwiceEi");
  REQUIRE(twice != nullptr);
  CHECK(twice->overloaded);
  CHECK(object.summary.FindFunction("_ZN12_GLOBAL__N_15TwiceE5Point") == twice);
  CHECK(twice->used_types.count("struct Point") == 1);  // the union of both overloads' types
}

TEST_CASE("variables of file and namespace scope, extern declarations included, list their types") {
  CompiledObject object(kSource);
  const DwarfVariable* hidden = object.summary.FindVariable("_ZN12_GLOBAL__N_115hidden_settingsE");
  REQUIRE(hidden != nullptr);
  CHECK(hidden->used_types == std::set<std::string>{"struct Settings"});
  const DwarfVariable* named = object.summary.FindVariable("_ZN5outer14named_settingsE");
  REQUIRE(named != nullptr);
  CHECK(named->used_types == std::set<std::string>{"struct Settings"});
  const DwarfVariable* shared = object.summary.FindVariable("shared_settings");
  REQUIRE(shared != nullptr);
  CHECK(shared->used_types == std::set<std::string>{"struct Settings"});
  REQUIRE(object.summary.types.count("struct Settings") == 1);
  const DwarfTypeLayout& layout = object.summary.types.at("struct Settings");
  CHECK(layout.byte_size == 16);
  REQUIRE(layout.members.size() == 2);
  CHECK(layout.members[1].name == "limit");
  CHECK(layout.members[1].offset == 8);
  CHECK(object.summary.FindVariable("no_such_variable") == nullptr);
}

}  // namespace
}  // namespace hotpatch::elf
