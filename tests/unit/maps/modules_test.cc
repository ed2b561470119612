#include "process/modules.h"

#include <elf.h>
#include <signal.h>
#include <sys/auxv.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "base/error.h"
#include "elf/elf_file.h"
#include "process/remote_memory.h"
#include "support/scratch_directory.h"
#include "support/target_process.h"

using hotpatch::Error;
using hotpatch::ErrorCode;
using hotpatch::FindModuleByBuildId;
using hotpatch::FindModuleContaining;
using hotpatch::Module;
using hotpatch::OpenModuleElf;
using hotpatch::ReadModules;
using hotpatch::RemoteMemory;
using hotpatch::RemotePtr;
using hotpatch::elf::ElfFile;
using hotpatch::test::ScratchDirectory;
using hotpatch::test::TargetPath;
using hotpatch::test::TargetProcess;

namespace {

// "ready 0x55..." / "loaded 0x7f..." -> the address.
RemotePtr AddressInLine(const std::string& line) {
  return RemotePtr(std::stoull(line.substr(line.find(' ') + 1), nullptr, 16));
}

const Module* ModuleWithPath(const std::vector<Module>& modules, const std::string& path) {
  std::string canonical = std::filesystem::weakly_canonical(path);
  for (const Module& m : modules) {
    if (m.path == canonical) return &m;
  }
  return nullptr;
}

// bias + st_value of `symbol` in the module's own ELF (read as mapped).
RemotePtr SymbolAddress(pid_t pid, const Module& module, const std::string& symbol) {
  ElfFile elf = OpenModuleElf(pid, module);
  auto found = elf.FindSymbols(symbol);
  REQUIRE(!found.empty());
  return module.load_bias + static_cast<int64_t>(found[0]->value);
}

}  // namespace

TEST_CASE("ReadModules sees a library appear after dlopen, with build-id and load bias") {
  TargetProcess target(TargetPath("dlopen_late"));
  RemotePtr marker = AddressInLine(target.WaitForLine("ready"));
  pid_t pid = target.pid();

  auto before = ReadModules(pid);
  CHECK(ModuleWithPath(before, TargetPath("libdlopen_payload.so")) == nullptr);
  const Module* executable = ModuleWithPath(before, TargetPath("dlopen_late"));
  REQUIRE(executable != nullptr);
  CHECK_FALSE(executable->deleted);
  CHECK(FindModuleContaining(before, marker) == executable);
  // PIE: the kernel chose a random bias, so a right answer here is no accident.
  CHECK(executable->load_bias.value() != 0);
  CHECK(SymbolAddress(pid, *executable, "dlopen_late_marker") == marker);
  std::string executable_id = ElfFile::Open(TargetPath("dlopen_late")).build_id_hex();
  REQUIRE(!executable_id.empty());
  CHECK(executable->build_id_hex == executable_id);
  CHECK(FindModuleByBuildId(before, executable_id) == executable);
  // libc and ld.so are modules too; non-ELF mappings (heap, stack) are not.
  CHECK(before.size() >= 4);
  for (const Module& m : before) {
    CHECK((m.path.starts_with('/') || m.path == "[vdso]"));
    CHECK(!m.mappings.empty());
    CHECK(m.range.begin == m.mappings.front().range.begin);
  }

  REQUIRE(kill(pid, SIGUSR1) == 0);
  RemotePtr payload_function = AddressInLine(target.WaitForLine("loaded"));
  auto after = ReadModules(pid);
  const Module* payload = ModuleWithPath(after, TargetPath("libdlopen_payload.so"));
  REQUIRE(payload != nullptr);
  CHECK(after.size() == before.size() + 1);
  CHECK(SymbolAddress(pid, *payload, "dlopen_payload_function") == payload_function);
  std::string payload_id = ElfFile::Open(TargetPath("libdlopen_payload.so")).build_id_hex();
  CHECK(payload->build_id_hex == payload_id);
  CHECK(FindModuleByBuildId(after, payload_id) == payload);
  CHECK(FindModuleContaining(after, payload_function) == payload);
  CHECK(FindModuleByBuildId(after, "00112233") == nullptr);
  CHECK(FindModuleContaining(after, RemotePtr(8)) == nullptr);
}

TEST_CASE("The vDSO is a module whose ELF is read from target memory") {
  SECTION("this process: its base is AT_SYSINFO_EHDR") {
    auto modules = ReadModules(getpid());
    const Module* vdso = ModuleWithPath(modules, "[vdso]");
    REQUIRE(vdso != nullptr);
    CHECK(vdso->range.begin.value() == getauxval(AT_SYSINFO_EHDR));
  }
  SECTION("a child: symbols and bytes agree with its memory") {
    TargetProcess target(TargetPath("dlopen_late"));
    target.WaitForLine("ready");
    auto modules = ReadModules(target.pid());
    const Module* vdso = nullptr;
    for (const Module& m : modules) {
      if (m.path == "[vdso]") vdso = &m;
    }
    REQUIRE(vdso != nullptr);
    ElfFile elf = OpenModuleElf(target.pid(), *vdso);
    CHECK(elf.type() == ET_DYN);
    CHECK(elf.machine() == EM_X86_64);
    CHECK(elf.build_id_hex() == vdso->build_id_hex);
    auto clock_gettime = elf.FindSymbols("__vdso_clock_gettime");
    REQUIRE(!clock_gettime.empty());
    const auto& symbol = *clock_gettime[0];
    REQUIRE(symbol.size > 0);
    auto file_bytes = elf.BytesAtAddress(symbol.value, symbol.size);
    REQUIRE(file_bytes.has_value());
    auto memory_bytes =
        RemoteMemory(target.pid())
            .Read(vdso->load_bias + static_cast<int64_t>(symbol.value), symbol.size);
    CHECK(std::equal(file_bytes->begin(), file_bytes->end(), memory_bytes.begin()));
    CHECK(FindModuleContaining(modules, vdso->load_bias + static_cast<int64_t>(symbol.value)) ==
          vdso);
  }
}

TEST_CASE("A deleted and replaced executable is still read as mapped") {
  ScratchDirectory dir;
  std::string copy = dir / "dlopen_late";
  std::filesystem::copy_file(TargetPath("dlopen_late"), copy);
  TargetProcess target(copy);
  RemotePtr marker = AddressInLine(target.WaitForLine("ready"));
  // Another ELF now answers to the path: reading the path would give the wrong build-id.
  REQUIRE(std::filesystem::remove(copy));
  std::filesystem::copy_file("/usr/bin/true", copy);

  auto modules = ReadModules(target.pid());
  const Module* executable = FindModuleContaining(modules, marker);
  REQUIRE(executable != nullptr);
  CHECK(executable->path == std::filesystem::weakly_canonical(copy).string());
  CHECK(executable->deleted);
  CHECK(executable->build_id_hex == ElfFile::Open(TargetPath("dlopen_late")).build_id_hex());
  CHECK(executable->build_id_hex != ElfFile::Open("/usr/bin/true").build_id_hex());
  CHECK(SymbolAddress(target.pid(), *executable, "dlopen_late_marker") == marker);
}

TEST_CASE("ReadModules of a reaped process throws kNoSuchProcess") {
  TargetProcess target(TargetPath("dlopen_late"));
  target.WaitForLine("ready");
  pid_t pid = target.pid();
  auto modules = ReadModules(pid);
  REQUIRE(!modules.empty());
  target.KillAndWait(SIGKILL);
  try {
    ReadModules(pid);
    FAIL("read the modules of a reaped process");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kNoSuchProcess);
    CHECK(std::string(e.what()).find(std::to_string(pid)) != std::string::npos);
  }
  CHECK_THROWS_AS(OpenModuleElf(pid, modules.front()), Error);
}
