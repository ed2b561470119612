// End to end: C compiled at test time with the flags a patch is built with, linked by
// LinkPatchImage for memory of this process, then called. Its externals resolve in this process
// (strlen via dlsym, thread-locals of this test executable by their TP offset), as the engine
// resolves them in the target.
#include <dlfcn.h>
#include <link.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include "base/error.h"
#include "engine/patch_image.h"
#include "engine/relocation.h"
#include "relocatable_object.h"

// Thread-locals and a global of the "target" (this executable) that the patch code uses.
extern "C" {
thread_local int hp_tls_counter = 0;  // reached through R_X86_64_GOTTPOFF (initial-exec)
thread_local int hp_tls_local = 0;    // reached through R_X86_64_TPOFF32 (local-exec)
int hp_target_global = 4242;          // reached through R_X86_64_PC32 (-fPIE assumes it is near)
}

using hotpatch::PatchImage;
using hotpatch::RemotePtr;
using hotpatch::ResolvedSymbol;
using hotpatch::test::ReadRelocatableObject;
using hotpatch::test::RelocatableObject;

namespace {

constexpr char kPatchSource[] = R"(
#include <string.h>
extern __thread int hp_tls_counter;
extern __thread int hp_tls_local __attribute__((tls_model("local-exec")));
static int counter;
static const char* names[] = {"alpha", "beta", "gamma"};
size_t (*length_of)(const char*) = strlen;

__attribute__((noinline)) static int twice(int x) { return 2 * x + counter; }
int add_twice(int x) { counter++; return twice(x); }
int next_id(void) { static int id = 100; return ++id; }
__attribute__((noinline)) size_t name_length(int i) { return strlen(names[i]); }
size_t length_plus_beta(const char* s) { return strlen(s) + name_length(1); }
size_t via_pointer(const char* s) { return length_of(s); }
void* strlen_address(void) { return (void*)&strlen; }
const char* greeting(void) { return "hello from the patch"; }
int bump_tls(void) { return ++hp_tls_counter; }
int bump_tls_local(void) { return ++hp_tls_local; }
)";

constexpr char kGlobalReaderSource[] = R"(
extern int hp_target_global;
int read_global(void) { return hp_target_global; }
)";

constexpr uint64_t kPage = 4096;
constexpr int64_t kRel32Reach = int64_t(1) << 31;

uint64_t PageAlign(uint64_t size) {
  return (size + kPage - 1) & ~(kPage - 1);
}

class TempDir {
 public:
  TempDir() {
    char pattern[] = "/tmp/hotpatch-relocation-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path_ = pattern;
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Compiles `source` as a patch is compiled: position-independent, one section per function.
std::string CompilePatchObject(const TempDir& dir, const std::string& compiler,
                               const std::string& name, const std::string& source) {
  std::string c_file = dir.path() + "/" + name + ".c";
  std::string object = dir.path() + "/" + name + ".o";
  std::ofstream(c_file) << source;
  std::string command =
      compiler + " -O2 -fPIE -ffunction-sections -fdata-sections -c " + c_file + " -o " + object;
  INFO(command);
  REQUIRE(std::system(command.c_str()) == 0);
  return object;
}

// GCC always (it is the toolchain); Clang when installed, since it emits other relocations for the
// same source (relative lookup tables in .rodata, GOT loads for extern data).
bool CompilerAvailable(const std::string& compiler) {
  if (compiler == "cc") return true;
  std::string probe = "command -v " + compiler + " >/dev/null 2>&1";
  if (std::system(probe.c_str()) == 0) return true;
  WARN(compiler << " is not installed: its output is not checked");
  return false;
}

// x86-64 TLS variant II: %fs:0 holds the thread pointer itself (the TCB's self pointer), and
// static TLS of the executable lies just below it at offsets fixed for every thread.
uint64_t ThreadPointer() {
  uint64_t tp;
  asm("mov %%fs:0, %0" : "=r"(tp));
  return tp;
}

// The PT_TLS header of this executable and this thread's copy of its TLS block.
struct ExecutableTls {
  const ElfW(Phdr) * header = nullptr;
  const uint8_t* this_thread_block = nullptr;
};

ExecutableTls FindExecutableTls() {
  ExecutableTls tls;
  // The executable is the first object dl_iterate_phdr reports.
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t, void* data) {
        auto* found = static_cast<ExecutableTls*>(data);
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          if (info->dlpi_phdr[i].p_type == PT_TLS) {
            found->header = &info->dlpi_phdr[i];
            found->this_thread_block = static_cast<const uint8_t*>(info->dlpi_tls_data);
          }
        }
        return 1;
      },
      &tls);
  REQUIRE(tls.header != nullptr);
  REQUIRE(tls.this_thread_block != nullptr);
  return tls;
}

ResolvedSymbol ResolveInThisProcess(const std::string& name, bool thread_local_symbol) {
  if (thread_local_symbol) {
    int* variable = name == "hp_tls_counter" ? &hp_tls_counter
                    : name == "hp_tls_local" ? &hp_tls_local
                                             : nullptr;
    REQUIRE(variable != nullptr);
    // As the engine will: from the variable's offset in the PT_TLS segment (its st_value), not
    // from its address, which only exists per thread.
    ExecutableTls tls = FindExecutableTls();
    uint64_t offset_in_segment = reinterpret_cast<const uint8_t*>(variable) - tls.this_thread_block;
    int64_t tp_offset = hotpatch::ExecutableTpOffset(offset_in_segment, tls.header->p_vaddr,
                                                     tls.header->p_memsz, tls.header->p_align);
    CHECK(tp_offset == int64_t(reinterpret_cast<uint64_t>(variable) - ThreadPointer()));
    return {.kind = ResolvedSymbol::kTargetTls,
            .section = 0,
            .value = uint64_t(tp_offset),
            .name = name};
  }
  // GCC declares _GLOBAL_OFFSET_TABLE_ in any object with GOT-relative relocations, though none
  // of the small-model relocations names it; the patch's slots live in its own GotTable.
  if (name == "_GLOBAL_OFFSET_TABLE_")
    return {.kind = ResolvedSymbol::kAbsolute, .section = 0, .value = 0, .name = name};
  void* address =
      name == "hp_target_global" ? &hp_target_global : dlsym(RTLD_DEFAULT, name.c_str());
  INFO("undefined symbol " << name);
  REQUIRE(address != nullptr);
  return {.kind = ResolvedSymbol::kAbsolute,
          .section = 0,
          .value = reinterpret_cast<uint64_t>(address),
          .name = name};
}

// Anonymous memory of this process at a chosen address, unmapped on destruction.
class LocalMapping {
 public:
  // Tries each hint with MAP_FIXED_NOREPLACE, so nothing already mapped is clobbered.
  LocalMapping(std::initializer_list<uint64_t> hints, uint64_t size) : size_(size) {
    for (uint64_t hint : hints) {
      void* address = mmap(reinterpret_cast<void*>(hint), size, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
      if (address != MAP_FAILED) {
        address_ = static_cast<uint8_t*>(address);
        return;
      }
    }
    FAIL("no room for a " << size << "-byte mapping at any hint");
  }
  ~LocalMapping() { munmap(address_, size_); }
  LocalMapping(const LocalMapping&) = delete;
  LocalMapping& operator=(const LocalMapping&) = delete;

  RemotePtr base() const { return RemotePtr(reinterpret_cast<uint64_t>(address_)); }
  uint8_t* bytes() const { return address_; }

 private:
  uint8_t* address_ = nullptr;
  uint64_t size_;
};

// The linked patch, installed in this process: code R+X at the start of the mapping, data R+W on
// the pages after it.
class InstalledPatch {
 public:
  InstalledPatch(const RelocatableObject& object, std::initializer_list<uint64_t> hints)
      : object_(object),
        code_pages_(PageAlign(hotpatch::ComputeCodeSize(object.sections, object.symbols))),
        mapping_(hints,
                 code_pages_ +
                     PageAlign(hotpatch::ComputeDataSize(object.sections, object.symbols) + 1)) {
    image_ = hotpatch::LinkPatchImage(object.sections, object.symbols, mapping_.base(),
                                      mapping_.base() + int64_t(code_pages_));
    std::memcpy(mapping_.bytes(), image_.code.data(), image_.code.size());
    if (!image_.data.empty())  // memcpy from a null pointer is undefined even for 0 bytes
      std::memcpy(mapping_.bytes() + code_pages_, image_.data.data(), image_.data.size());
    REQUIRE(mprotect(mapping_.bytes(), code_pages_, PROT_READ | PROT_EXEC) == 0);
  }

  template <typename Function>
  Function* Get(const std::string& name) const {
    auto it = object_.defined.find(name);
    REQUIRE(it != object_.defined.end());
    const ResolvedSymbol& symbol = object_.symbols[it->second];
    RemotePtr address = image_.section_addresses[symbol.section] + int64_t(symbol.value);
    return reinterpret_cast<Function*>(address.value());
  }

  RemotePtr base() const { return mapping_.base(); }

 private:
  const RelocatableObject& object_;
  uint64_t code_pages_;
  LocalMapping mapping_;
  PatchImage image_;
};

// Far from this executable (0x55.../0x56...) and from the libraries (0x7f...): 32 TiB and up.
const std::initializer_list<uint64_t> kFarHints = {0x200000000000, 0x210000000000, 0x300000000000};

}  // namespace

TEST_CASE("Relocated C code runs: calls, literals, globals, statics, externals, thread-locals") {
  const std::string compiler = GENERATE(as<std::string>{}, "cc", "clang");
  if (!CompilerAvailable(compiler)) return;
  TempDir dir;
  RelocatableObject object = ReadRelocatableObject(
      CompilePatchObject(dir, compiler, "patch", kPatchSource), ResolveInThisProcess);
  InstalledPatch patch(object, kFarHints);

  // The point of the far placement: calls to strlen cannot reach it with rel32 and must take the
  // stub, and the GOT slot must carry the full address.
  uint64_t strlen_address = reinterpret_cast<uint64_t>(dlsym(RTLD_DEFAULT, "strlen"));
  REQUIRE(std::abs(int64_t(strlen_address - patch.base().value())) > kRel32Reach);

  // Call to a static function; a counter in .bss.
  auto add_twice = patch.Get<int(int)>("add_twice");
  CHECK(add_twice(10) == 21);
  CHECK(add_twice(10) == 22);
  // Static local in .data.
  auto next_id = patch.Get<int()>("next_id");
  CHECK(next_id() == 101);
  CHECK(next_id() == 102);
  // String literal in .rodata, pointer table in .data.rel.ro (R_X86_64_64), tail call to strlen
  // and a call to strlen through the stub (R_X86_64_PLT32).
  CHECK(patch.Get<size_t(int)>("name_length")(2) == 5);
  CHECK(patch.Get<size_t(const char*)>("length_plus_beta")("patched") == 7 + 4);
  CHECK(std::string(patch.Get<const char*()>("greeting")()) == "hello from the patch");
  // A data pointer to strlen (R_X86_64_64) and its address from the GOT (R_X86_64_REX_GOTPCRELX).
  CHECK(patch.Get<size_t(const char*)>("via_pointer")("abc") == 3);
  CHECK(reinterpret_cast<uint64_t>(patch.Get<void*()>("strlen_address")()) == strlen_address);
}

TEST_CASE("Relocated code reaches each thread's own copy of the executable's thread-locals") {
  const std::string compiler = GENERATE(as<std::string>{}, "cc", "clang");
  if (!CompilerAvailable(compiler)) return;
  TempDir dir;
  RelocatableObject object = ReadRelocatableObject(
      CompilePatchObject(dir, compiler, "patch", kPatchSource), ResolveInThisProcess);
  InstalledPatch patch(object, kFarHints);
  auto bump_tls = patch.Get<int()>("bump_tls");              // initial-exec: R_X86_64_GOTTPOFF
  auto bump_tls_local = patch.Get<int()>("bump_tls_local");  // local-exec: R_X86_64_TPOFF32

  hp_tls_counter = 40;
  hp_tls_local = 7;
  CHECK(bump_tls() == 41);
  CHECK(hp_tls_counter == 41);
  CHECK(bump_tls_local() == 8);
  CHECK(hp_tls_local == 8);

  int other_thread_counter = 0, other_thread_local = 0, other_thread_seen = 0;
  std::thread([&] {
    hp_tls_counter = 100;
    other_thread_counter = bump_tls();
    other_thread_local = bump_tls_local();
    other_thread_seen = hp_tls_counter;
  }).join();
  CHECK(other_thread_counter == 101);
  CHECK(other_thread_local == 1);  // a fresh thread's copy starts at its initial value, 0
  CHECK(other_thread_seen == 101);
  CHECK(hp_tls_counter == 41);  // this thread's copy untouched by the other thread's calls
  CHECK(hp_tls_local == 8);
}

TEST_CASE("A direct reference to a target global links near it and is refused far from it") {
  TempDir dir;
  RelocatableObject object = ReadRelocatableObject(
      CompilePatchObject(dir, "cc", "reader", kGlobalReaderSource), ResolveInThisProcess);

  // Far: GCC's -fPIE code reads hp_target_global with R_X86_64_PC32 (it assumes a copy relocation
  // would bring the variable into the executable), which cannot reach 32 TiB away. Clang uses a
  // GOT load for the same source, so this test is GCC's.
  try {
    hotpatch::LinkPatchImage(object.sections, object.symbols, RemotePtr(0x200000000000),
                             RemotePtr(0x200000100000));
    FAIL("a PC32 reference across terabytes was linked");
  } catch (const hotpatch::Error& e) {
    CHECK(e.code() == hotpatch::ErrorCode::kUnsupported);
    CHECK_THAT(e.what(), Catch::Contains("R_X86_64_PC32"));
    CHECK_THAT(e.what(), Catch::Contains("(symbol hp_target_global)"));
  }

  // Near: within a few hundred MiB after this executable's data, as a patch mapping would be.
  uint64_t global = reinterpret_cast<uint64_t>(&hp_target_global) & ~(kPage - 1);
  InstalledPatch patch(object, {global + (256 << 20), global + (512 << 20), global - (512 << 20),
                                global + (1024 << 20)});
  REQUIRE(std::abs(int64_t(global - patch.base().value())) < kRel32Reach);
  CHECK(patch.Get<int()>("read_global")() == 4242);
  hp_target_global = 7;
  CHECK(patch.Get<int()>("read_global")() == 7);
}
