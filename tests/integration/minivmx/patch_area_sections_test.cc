// The contract between hotpatch/patch_area.h and the engine, checked on the built minivmx: the
// four sections exist with the flags the engine relies on, and the state record is where the
// section header says, in the file and in the running process.
#include <elf.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "elf_sections.h"
#include "hotpatch/patch_area.h"
#include "process/remote_memory.h"
#include "running_minivmx.h"

namespace hotpatch::test {
namespace {

ElfSection RequireSection(const ElfSections& elf, const std::string& name) {
  auto section = elf.Find(name);
  INFO("section " << name);
  REQUIRE(section.has_value());
  return *section;
}

bool HasFlags(const ElfSection& section, uint64_t flags) {
  return (section.header.sh_flags & flags) == flags;
}

// Where the executable's file offset 0 is mapped: the load bias of a PIE. Found from the
// mapping of the file with offset 0 in /proc/PID/maps.
RemotePtr LoadBias(pid_t pid, const std::string& executable) {
  std::ifstream maps("/proc/" + std::to_string(pid) + "/maps");
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range, perms, offset, device, inode, path;
    fields >> range >> perms >> offset >> device >> inode >> path;
    if (path == executable && std::stoull(offset, nullptr, 16) == 0)
      return RemotePtr(std::stoull(range.substr(0, range.find('-')), nullptr, 16));
  }
  FAIL("no mapping of " << executable << " at offset 0 in /proc/" << pid << "/maps");
  return RemotePtr();
}

}  // namespace

TEST_CASE("the code area is executable, not writable, page-aligned and filled with int3") {
  ElfSections elf(ExamplePath("minivmx"));
  ElfSection code = RequireSection(elf, ".hotpatch.text");
  CHECK(code.header.sh_type == SHT_PROGBITS);
  CHECK(HasFlags(code, SHF_ALLOC | SHF_EXECINSTR));
  CHECK_FALSE(HasFlags(code, SHF_WRITE));
  CHECK(code.header.sh_addralign == 4096);
  CHECK(code.header.sh_addr % 4096 == 0);
  CHECK(code.header.sh_size == 64 * 1024);  // minivmx asks for exactly 64 KiB
  std::vector<uint8_t> bytes = elf.Contents(code);
  CHECK(std::all_of(bytes.begin(), bytes.end(), [](uint8_t b) { return b == 0xcc; }));
}

TEST_CASE("the data area is writable NOBITS, not executable, page-aligned") {
  ElfSections elf(ExamplePath("minivmx"));
  ElfSection data = RequireSection(elf, ".hotpatch.data");
  CHECK(data.header.sh_type == SHT_NOBITS);
  CHECK(HasFlags(data, SHF_ALLOC | SHF_WRITE));
  CHECK_FALSE(HasFlags(data, SHF_EXECINSTR));
  CHECK(data.header.sh_addralign == 4096);
  CHECK(data.header.sh_addr % 4096 == 0);
  CHECK(data.header.sh_size == 16 * 1024);
}

TEST_CASE("the run-once section is executable and holds exactly the functions marked run-once") {
  ElfSections elf(ExamplePath("minivmx"));
  ElfSection run_once = RequireSection(elf, ".hotpatch.run_once");
  CHECK(run_once.header.sh_type == SHT_PROGBITS);
  CHECK(HasFlags(run_once, SHF_ALLOC | SHF_EXECINSTR));
  CHECK_FALSE(HasFlags(run_once, SHF_WRITE));

  std::vector<std::string> functions;
  for (const auto& symbol : elf.Symbols()) {
    if (symbol.entry.st_shndx == run_once.index && ELF64_ST_TYPE(symbol.entry.st_info) == STT_FUNC)
      functions.push_back(symbol.name);
  }
  std::sort(functions.begin(), functions.end());
  CHECK(functions == std::vector<std::string>{"guest_program_build", "machine_start"});
}

TEST_CASE("the state record in the file carries magic and version, init not yet done") {
  ElfSections elf(ExamplePath("minivmx"));
  ElfSection state = RequireSection(elf, ".hotpatch.state");
  CHECK(state.header.sh_type == SHT_PROGBITS);
  CHECK(HasFlags(state, SHF_ALLOC | SHF_WRITE));
  CHECK_FALSE(HasFlags(state, SHF_EXECINSTR));
  REQUIRE(state.header.sh_size == sizeof(hotpatch_state));

  hotpatch_state record;
  std::vector<uint8_t> bytes = elf.Contents(state);
  std::memcpy(&record, bytes.data(), sizeof record);
  CHECK(std::string(record.magic, 8) == HOTPATCH_STATE_MAGIC);
  CHECK(record.version == HOTPATCH_STATE_VERSION);
  CHECK(record.init_done == 0);
}

TEST_CASE("the running process's state record says init is done once it is ready") {
  ElfSections elf(ExamplePath("minivmx"));
  ElfSection state = RequireSection(elf, ".hotpatch.state");
  RunningMinivmx vm(1);

  // /proc/PID/maps shows the resolved path.
  RemotePtr bias =
      LoadBias(vm.process().pid(), std::filesystem::canonical(ExamplePath("minivmx")).string());
  RemoteMemory memory(vm.process().pid());
  auto record = memory.ReadValue<hotpatch_state>(bias + int64_t(state.header.sh_addr));
  CHECK(std::string(record.magic, 8) == HOTPATCH_STATE_MAGIC);
  CHECK(record.version == HOTPATCH_STATE_VERSION);
  // minivmx declares init done before printing "ready".
  CHECK(record.init_done == 1);
}

}  // namespace hotpatch::test
