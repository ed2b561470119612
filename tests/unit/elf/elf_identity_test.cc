#include "elf/elf_identity.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>

#include "base/error.h"
#include "base/unique_fd.h"
#include "elf/elf_file.h"
#include "support/scratch_directory.h"
#include "support/target_process.h"

using hotpatch::Error;
using hotpatch::ErrorCode;
using hotpatch::UniqueFd;
using hotpatch::elf::ElfFile;
using hotpatch::elf::ReadElfIdentity;
using hotpatch::test::ScratchDirectory;
using hotpatch::test::TargetPath;

namespace {

hotpatch::elf::ElfIdentity IdentityOf(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  REQUIRE(fd.valid());
  return ReadElfIdentity(fd.get(), path);
}

}  // namespace

TEST_CASE("ReadElfIdentity agrees with the full ElfFile") {
  Dl_info libc;
  REQUIRE(dladdr(reinterpret_cast<void*>(&getpid), &libc) != 0);
  for (const std::string& path : {TargetPath("dlopen_late"), TargetPath("libdlopen_payload.so"),
                                  std::string("/usr/bin/ls"), std::string(libc.dli_fname)}) {
    INFO(path);
    ElfFile full = ElfFile::Open(path);
    auto identity = IdentityOf(path);
    CHECK(identity.type == full.type());
    CHECK(identity.machine == full.machine());
    CHECK(!identity.build_id_hex().empty());
    CHECK(identity.build_id_hex() == full.build_id_hex());
    CHECK(identity.first_load_vaddr() == full.first_load_vaddr());
    REQUIRE(identity.segments.size() == full.segments().size());
    for (size_t i = 0; i < identity.segments.size(); ++i) {
      CHECK(identity.segments[i].vaddr == full.segments()[i].vaddr);
      CHECK(identity.segments[i].offset == full.segments()[i].offset);
      CHECK(identity.segments[i].file_size == full.segments()[i].file_size);
    }
  }
}

TEST_CASE("ReadElfIdentity refuses non-ELF and truncated files") {
  try {
    IdentityOf("/etc/passwd");
    FAIL("/etc/passwd read as ELF");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kBadRequest);
    CHECK(std::string(e.what()).find("/etc/passwd") != std::string::npos);
  }
  ScratchDirectory dir;
  std::string copy = dir / "truncated";
  std::filesystem::copy_file(TargetPath("dlopen_late"), copy);
  // Cut inside the program header table (it follows the 64-byte ELF header).
  std::filesystem::resize_file(copy, 100);
  CHECK_THROWS_AS(IdentityOf(copy), Error);
  std::filesystem::resize_file(copy, 10);
  CHECK_THROWS_AS(IdentityOf(copy), Error);
}

TEST_CASE("ReadElfIdentity refuses an extended program header count larger than the file") {
  // The fuzzer's input (tests/fuzz/regressions/elf_file/phnum_xnum_huge_count): e_phnum is
  // PN_XNUM, so section header 0's 32-bit sh_info is the count; it asked for a 240 GB table.
  std::string input =
      hotpatch::test::SourceDir() + "/tests/fuzz/regressions/elf_file/phnum_xnum_huge_count";
  try {
    IdentityOf(input);
    FAIL("read an identity with an impossible program header table");
  } catch (const Error& e) {
    CHECK(std::string(e.what()).find("program header table") != std::string::npos);
    CHECK(std::string(e.what()).find("lies outside the file") != std::string::npos);
  }
}
