#include "elf/elf_file.h"

#include <dlfcn.h>
#include <elf.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <cstring>
#include <sstream>

#include "base/error.h"
#include "support/scratch_directory.h"
#include "support/target_process.h"

using hotpatch::Error;
using hotpatch::ErrorCode;
using hotpatch::elf::ElfFile;
using hotpatch::elf::Symbol;
using hotpatch::test::RunCommand;
using hotpatch::test::TargetPath;

namespace {

// The build-id as binutils reads it, "" if it prints none.
std::string ReadelfBuildId(const std::string& path) {
  std::istringstream lines(RunCommand("readelf -n '" + path + "'"));
  std::string line;
  while (std::getline(lines, line)) {
    auto at = line.find("Build ID: ");
    if (at != std::string::npos) return line.substr(at + 10);
  }
  return "";
}

// The value nm prints for a defined symbol, or -1.
long long NmValue(const std::string& path, const std::string& name, bool dynamic) {
  std::istringstream lines(
      RunCommand("nm " + std::string(dynamic ? "-D " : "") + "'" + path + "'"));
  std::string line;
  while (std::getline(lines, line)) {
    // "0000000000001350 T name"; undefined symbols have no value column.
    std::istringstream words(line);
    std::string value, type, symbol;
    if (words >> value >> type >> symbol && symbol == name) return std::stoll(value, nullptr, 16);
  }
  return -1;
}

std::string PathOfLoadedObject(const void* address) {
  Dl_info info;
  REQUIRE(dladdr(address, &info) != 0);
  return info.dli_fname;
}

}  // namespace

TEST_CASE("ElfFile reads a built PIE target: symbols, bytes, build-id") {
  std::string path = TargetPath("dlopen_late");
  ElfFile elf = ElfFile::Open(path);
  CHECK(elf.path() == path);
  CHECK(elf.type() == ET_DYN);
  CHECK(elf.machine() == EM_X86_64);
  CHECK(elf.first_load_vaddr() == 0);
  CHECK(elf.tls_segment() == nullptr);
  REQUIRE(!elf.symbols().empty());

  // -rdynamic puts the function in .dynsym too; .symtab comes first.
  auto found = elf.FindSymbols("dlopen_late_marker");
  REQUIRE(found.size() == 2);
  const Symbol& marker = *found[0];
  CHECK_FALSE(marker.dynamic);
  CHECK(found[1]->dynamic);
  CHECK(found[1]->value == marker.value);
  CHECK(marker.type == STT_FUNC);
  CHECK(marker.binding == STB_GLOBAL);
  CHECK(marker.size > 0);
  CHECK(static_cast<long long>(marker.value) == NmValue(path, "dlopen_late_marker", false));
  CHECK(elf.FindSymbols("no_such_symbol_anywhere").empty());

  CHECK(elf.FunctionContaining(marker.value) == &marker);
  CHECK(elf.FunctionContaining(marker.value + marker.size - 1) == &marker);
  const Symbol* after = elf.FunctionContaining(marker.value + marker.size);
  CHECK((after == nullptr || after->name != marker.name));
  const Symbol* main_function = elf.FunctionContaining(elf.FindSymbols("main")[0]->value + 3);
  REQUIRE(main_function != nullptr);
  CHECK(main_function->name == "main");

  // The bytes behind the symbol through PT_LOAD are those of its section.
  auto [text_begin, text_end] = elf.text_range();
  CHECK(text_begin <= marker.value);
  CHECK(marker.value + marker.size <= text_end);
  REQUIRE(marker.section_index < elf.sections().size());
  const auto& section = elf.sections()[marker.section_index];
  CHECK(section.name == ".text");
  auto bytes = elf.BytesAtAddress(marker.value, marker.size);
  REQUIRE(bytes.has_value());
  auto in_section = elf.SectionData(section).subspan(marker.value - section.address, marker.size);
  CHECK(std::equal(bytes->begin(), bytes->end(), in_section.begin(), in_section.end()));
  // .bss has no file bytes.
  const auto* bss = elf.FindSection(".bss");
  REQUIRE(bss != nullptr);
  CHECK(elf.SectionData(*bss).empty());
  CHECK_FALSE(elf.BytesAtAddress(bss->address + bss->size - 1, 1).has_value());

  REQUIRE(elf.build_id().has_value());
  CHECK(elf.build_id()->size() == 20);  // SHA-1, ld's default --build-id
  CHECK(elf.build_id_hex() == ReadelfBuildId(path));
}

TEST_CASE("ElfFile reads a stripped system binary through .dynsym only") {
  ElfFile elf = ElfFile::Open("/usr/bin/ls");
  CHECK(elf.symbols().empty());
  REQUIRE(!elf.dynamic_symbols().empty());
  auto malloc_symbols = elf.FindSymbols("malloc");
  REQUIRE(malloc_symbols.size() == 1);
  CHECK(malloc_symbols[0]->dynamic);
  CHECK(malloc_symbols[0]->section_index == SHN_UNDEF);
  CHECK(elf.FindSection(".symtab") == nullptr);
  CHECK(elf.text_range().second > elf.text_range().first);
  CHECK(!elf.build_id_hex().empty());
  CHECK(elf.build_id_hex() == ReadelfBuildId("/usr/bin/ls"));
}

TEST_CASE("ElfFile reads shared libraries: the test payload and libc") {
  std::string payload_path = TargetPath("libdlopen_payload.so");
  ElfFile payload = ElfFile::Open(payload_path);
  CHECK(payload.type() == ET_DYN);
  auto function = payload.FindSymbols("dlopen_payload_function");
  REQUIRE(function.size() == 2);
  CHECK(function[1]->dynamic);
  CHECK(static_cast<long long>(function[1]->value) ==
        NmValue(payload_path, "dlopen_payload_function", true));
  CHECK(payload.build_id_hex() == ReadelfBuildId(payload_path));

  // libc as loaded in this very process: the file's bytes of getpid are those in our memory.
  // (getpid rather than malloc: a sanitizer build interposes malloc.)
  std::string libc_path = PathOfLoadedObject(reinterpret_cast<void*>(&getpid));
  ElfFile libc = ElfFile::Open(libc_path);
  const Symbol* getpid_symbol = nullptr;
  for (const Symbol* s : libc.FindSymbols("getpid")) {
    if (s->dynamic && s->section_index != SHN_UNDEF) getpid_symbol = s;
  }
  REQUIRE(getpid_symbol != nullptr);
  CHECK(getpid_symbol->type == STT_FUNC);
  REQUIRE(getpid_symbol->size > 0);
  const Symbol* containing = libc.FunctionContaining(getpid_symbol->value + 1);
  REQUIRE(containing != nullptr);
  CHECK(containing->value == getpid_symbol->value);
  Dl_info info;
  REQUIRE(dladdr(reinterpret_cast<void*>(&getpid), &info) != 0);
  auto file_bytes = libc.BytesAtAddress(getpid_symbol->value, getpid_symbol->size);
  REQUIRE(file_bytes.has_value());
  // dli_fbase is where the lowest PT_LOAD page is mapped, i.e. load bias + first_load_vaddr.
  const auto* in_memory =
      static_cast<const uint8_t*>(info.dli_fbase) + getpid_symbol->value - libc.first_load_vaddr();
  CHECK(reinterpret_cast<uintptr_t>(in_memory) == reinterpret_cast<uintptr_t>(&getpid));
  CHECK(std::memcmp(file_bytes->data(), in_memory, getpid_symbol->size) == 0);
  CHECK(libc.tls_segment() != nullptr);  // errno, among others
  CHECK(libc.build_id_hex() == ReadelfBuildId(libc_path));
}

TEST_CASE("ElfFile::Open errors name the path and say why") {
  try {
    ElfFile::Open("/nonexistent/dir/file.so");
    FAIL("opened a file that does not exist");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kNotFound);
    CHECK(std::string(e.what()).find("/nonexistent/dir/file.so") != std::string::npos);
  }
  try {
    ElfFile::Open("/etc/passwd");
    FAIL("parsed a text file as ELF");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kBadRequest);
    CHECK(std::string(e.what()).find("/etc/passwd") != std::string::npos);
  }
  CHECK_THROWS_AS(ElfFile::Open("/usr/bin"), Error);
  CHECK_THROWS_AS(ElfFile::FromBytes({}, "empty"), Error);
}

TEST_CASE("A moved ElfFile keeps its lookups (indices point into moved buffers)") {
  ElfFile original = ElfFile::Open(TargetPath("dlopen_late"));
  const Symbol* marker = original.FindSymbols("dlopen_late_marker").at(0);
  const uint8_t* bytes = original.bytes().data();
  ElfFile moved = std::move(original);
  CHECK(moved.bytes().data() == bytes);
  CHECK(moved.FindSymbols("dlopen_late_marker").at(0) == marker);
  CHECK(moved.FunctionContaining(marker->value) == marker);
  ElfFile other = ElfFile::Open(TargetPath("libdlopen_payload.so"));
  other = std::move(moved);
  CHECK(other.FindSymbols("dlopen_late_marker").at(0) == marker);
  CHECK(other.FunctionContaining(marker->value + 1) == marker);
}
