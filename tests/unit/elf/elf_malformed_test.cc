// Untrusted input: truncated and corrupted copies of real files must throw hotpatch::Error naming
// file and field, and never crash or read out of bounds (run this under HOTPATCH_SANITIZE to see
// the out-of-bounds part checked).
#include <elf.h>

#include <catch2/catch.hpp>
#include <cstring>
#include <fstream>
#include <iterator>
#include <random>

#include "base/error.h"
#include "elf/elf_file.h"
#include "support/scratch_directory.h"
#include "support/target_process.h"

using hotpatch::Error;
using hotpatch::elf::ElfFile;
using hotpatch::test::RunCommand;
using hotpatch::test::ScratchDirectory;
using hotpatch::test::TargetPath;

namespace {

std::vector<uint8_t> ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

// Calls every accessor that interprets file contents; each may throw Error, nothing else.
void UseEverything(const ElfFile& elf) {
  auto tolerate = [](auto&& call) {
    try {
      call();
    } catch (const Error&) {
    }
  };
  for (const auto& section : elf.sections()) {
    tolerate([&] { elf.SectionData(section); });
    if (section.type == SHT_RELA) tolerate([&] { elf.Relocations(section); });
  }
  for (const auto* table : {&elf.symbols(), &elf.dynamic_symbols()}) {
    for (const auto& symbol : *table) {
      elf.FunctionContaining(symbol.value);
      elf.FindSymbols(symbol.name);
    }
  }
  for (const auto& segment : elf.segments()) {
    tolerate([&] { elf.BytesAtAddress(segment.vaddr, segment.file_size); });
    tolerate([&] { elf.BytesAtAddress(segment.vaddr + segment.file_size / 2, 8); });
  }
  elf.build_id_hex();
  elf.text_range();
  elf.first_load_vaddr();
  elf.tls_segment();
}

Elf64_Ehdr HeaderOf(const std::vector<uint8_t>& bytes) {
  Elf64_Ehdr header;
  std::memcpy(&header, bytes.data(), sizeof header);
  return header;
}

// Byte offset of section `index`'s header.
size_t SectionHeaderAt(const std::vector<uint8_t>& bytes, size_t index) {
  return HeaderOf(bytes).e_shoff + index * sizeof(Elf64_Shdr);
}

template <typename T>
void Poke(std::vector<uint8_t>& bytes, size_t at, T value) {
  REQUIRE(at + sizeof value <= bytes.size());
  std::memcpy(bytes.data() + at, &value, sizeof value);
}

// Parses `bytes` expecting an Error whose message names the display name and `field`.
void RequireMalformed(std::vector<uint8_t> bytes, const std::string& field) {
  try {
    ElfFile elf = ElfFile::FromBytes(std::move(bytes), "corrupt.so");
    FAIL("parsed without error; expected one about " << field);
  } catch (const Error& e) {
    std::string message = e.what();
    INFO(message);
    CHECK(message.find("corrupt.so") != std::string::npos);
    CHECK(message.find(field) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("Truncated ELF files throw Error at every length") {
  for (const std::string& path : {TargetPath("libdlopen_payload.so"), TargetPath("dlopen_late")}) {
    auto whole = ReadBytes(path);
    REQUIRE(whole.size() > 1000);
    REQUIRE_NOTHROW(UseEverything(ElfFile::FromBytes(whole, path)));
    // Every length in the first KiB (ELF and program headers), then a spread over the rest.
    std::vector<size_t> lengths;
    for (size_t n = 0; n < 1024; ++n) lengths.push_back(n);
    for (size_t n = 1024; n < whole.size(); n += 1 + whole.size() / 300) lengths.push_back(n);
    for (size_t n = whole.size() - 64; n < whole.size(); ++n) lengths.push_back(n);
    for (size_t length : lengths) {
      INFO(path << " truncated to " << length);
      std::vector<uint8_t> truncated(whole.begin(), whole.begin() + length);
      // The section header table is the last thing a linker writes, so every prefix loses part of
      // it (or more) and must be refused.
      CHECK_THROWS_AS(ElfFile::FromBytes(std::move(truncated), path), Error);
    }
  }
}

TEST_CASE("Randomly corrupted ELF files throw Error or parse, never crash") {
  auto whole = ReadBytes(TargetPath("libdlopen_payload.so"));
  REQUIRE(!whole.empty());
  std::mt19937 random(20240601);  // fixed seed: a failure reproduces
  size_t refused = 0, parsed = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> bytes = whole;
    int flips = 1 + static_cast<int>(random() % 8);
    for (int i = 0; i < flips; ++i) {
      // Half the flips hit the headers, where offsets and counts live.
      size_t limit = round % 2 == 0 ? std::min<size_t>(bytes.size(), 64) : bytes.size();
      size_t at = random() % limit;
      if (random() % 4 == 0) {
        // Also in the section header table, sometimes.
        at = (HeaderOf(whole).e_shoff + random() % (whole.size() - HeaderOf(whole).e_shoff));
      }
      bytes[at] = static_cast<uint8_t>(random());
    }
    try {
      ElfFile elf = ElfFile::FromBytes(std::move(bytes), "corrupt.so");
      UseEverything(elf);
      ++parsed;
    } catch (const Error&) {
      ++refused;
    }
  }
  // Both outcomes must occur, or the corruption did not reach the parser.
  CHECK(refused > 100);
  CHECK(parsed > 100);
}

TEST_CASE("Corrupted fields are named in the error") {
  auto whole = ReadBytes(TargetPath("libdlopen_payload.so"));
  ElfFile intact = ElfFile::FromBytes(whole, "intact.so");
  const auto* symtab = intact.FindSection(".symtab");
  const auto* text = intact.FindSection(".text");
  const auto* build_id = intact.FindSection(".note.gnu.build-id");
  REQUIRE(symtab != nullptr);
  REQUIRE(text != nullptr);
  REQUIRE(build_id != nullptr);

  SECTION("section header table beyond the file") {
    auto bytes = whole;
    Poke<uint64_t>(bytes, offsetof(Elf64_Ehdr, e_shoff), bytes.size() - 10);
    RequireMalformed(bytes, "section header table");
  }
  SECTION("section data beyond the file") {
    auto bytes = whole;
    Poke<uint64_t>(bytes, SectionHeaderAt(bytes, text->index) + offsetof(Elf64_Shdr, sh_size),
                   uint64_t(1) << 62);
    RequireMalformed(bytes, "sh_offset/sh_size");
  }
  SECTION("section header entry size") {
    auto bytes = whole;
    Poke<uint16_t>(bytes, offsetof(Elf64_Ehdr, e_shentsize), 63);
    RequireMalformed(bytes, "e_shentsize");
  }
  SECTION("symbol table linked to a section that is not a string table") {
    auto bytes = whole;
    Poke<uint32_t>(bytes, SectionHeaderAt(bytes, symtab->index) + offsetof(Elf64_Shdr, sh_link),
                   text->index);
    RequireMalformed(bytes, "SHT_STRTAB");
  }
  SECTION("symbol table linked to no section") {
    auto bytes = whole;
    Poke<uint32_t>(bytes, SectionHeaderAt(bytes, symtab->index) + offsetof(Elf64_Shdr, sh_link),
                   100000);
    RequireMalformed(bytes, "sh_link");
  }
  SECTION("symbol name outside the string table") {
    auto bytes = whole;
    Poke<uint32_t>(bytes, symtab->offset + 3 * sizeof(Elf64_Sym) + offsetof(Elf64_Sym, st_name),
                   0x7fffffff);
    RequireMalformed(bytes, "st_name");
  }
  SECTION("note descriptor running past its section") {
    auto bytes = whole;
    Poke<uint32_t>(bytes, build_id->offset + offsetof(Elf64_Nhdr, n_descsz), 0x10000);
    RequireMalformed(bytes, "n_namesz/n_descsz");
  }
}

TEST_CASE("A relocation naming a symbol outside its symbol table is refused") {
  ScratchDirectory dir;
  std::ofstream(dir / "call.c") << "int other(int); int caller(int x) { return other(x) + 1; }\n";
  RunCommand("cc -O2 -c -o '" + (dir / "call.o") + "' '" + (dir / "call.c") + "'");
  auto bytes = ReadBytes(dir / "call.o");
  ElfFile intact = ElfFile::FromBytes(bytes, "call.o");
  const auto* rela = intact.FindSection(".rela.text");
  REQUIRE(rela != nullptr);
  REQUIRE(!intact.Relocations(*rela).empty());
  Poke<uint64_t>(bytes, rela->offset + offsetof(Elf64_Rela, r_info),
                 ELF64_R_INFO(uint64_t(0xffffff), R_X86_64_PLT32));
  ElfFile corrupt = ElfFile::FromBytes(bytes, "corrupt.o");
  try {
    corrupt.Relocations(*corrupt.FindSection(".rela.text"));
    FAIL("relocation with symbol index 0xffffff accepted");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("corrupt.o") != std::string::npos);
    CHECK(std::string(e.what()).find("symbol index 16777215") != std::string::npos);
  }
}
