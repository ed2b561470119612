// A bundle is an ordinary relocatable object to ELF tools: readelf and objdump read it without a
// warning and show the patch's code, relocations and symbols.
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <string>

#include "bundle/bundle.h"
#include "sample_bundles.h"

namespace hotpatch::bundle::test {
namespace {

// A bundle written to a temporary file, removed on destruction.
class BundleFile {
 public:
  explicit BundleFile(const std::vector<uint8_t>& bytes) {
    char name[] = "/tmp/hotpatch-bundle-test-XXXXXX";
    const int fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    path_ = name;
    std::ofstream(path_, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()),
               static_cast<std::streamsize>(bytes.size()));
  }
  ~BundleFile() { unlink(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct CommandResult {
  int exit_status = -1;
  std::string output;  // stdout and stderr
};

CommandResult Run(const std::string& command) {
  CommandResult result;
  FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  REQUIRE(pipe != nullptr);
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) result.output.append(buffer, n);
  const int status = pclose(pipe);
  result.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

TEST_CASE("readelf -a reads a bundle without complaint") {
  const BundleFile file(WriteBundle(RichBundle()));
  const CommandResult readelf = Run("readelf -a -W " + file.path());
  INFO(readelf.output);
  CHECK(readelf.exit_status == 0);
  CHECK_THAT(readelf.output, !Catch::Contains("Warning") && !Catch::Contains("Error"));
  CHECK_THAT(readelf.output, Catch::Contains("REL (Relocatable file)"));
  CHECK_THAT(readelf.output, Catch::Contains("Advanced Micro Devices X86-64"));
  CHECK_THAT(readelf.output, Catch::Contains(".hotpatch.header"));
  CHECK_THAT(readelf.output, Catch::Contains(".hotpatch.checksum"));
  CHECK_THAT(readelf.output, Catch::Contains("R_X86_64_PLT32         0000000000000000 puts - 4"));
  CHECK_THAT(readelf.output, Catch::Contains("R_X86_64_TPOFF32"));
  CHECK_THAT(readelf.output, Catch::Contains("FUNC    GLOBAL DEFAULT    1 fixed_function"));
  CHECK_THAT(readelf.output, Catch::Contains("TLS     GLOBAL DEFAULT  UND tls_state"));
  CHECK_THAT(readelf.output, Catch::Contains("NOBITS"));
}

TEST_CASE("objdump -dr disassembles a bundle's code with its relocations") {
  const BundleFile file(WriteBundle(RichBundle()));
  const CommandResult objdump = Run("objdump -dr " + file.path());
  INFO(objdump.output);
  CHECK(objdump.exit_status == 0);
  CHECK_THAT(objdump.output, !Catch::Contains("warning"));
  CHECK_THAT(objdump.output, Catch::Contains("file format elf64-x86-64"));
  CHECK_THAT(objdump.output, Catch::Contains("<fixed_function>:"));
  CHECK_THAT(objdump.output, Catch::Contains("<new_helper>:"));
  CHECK_THAT(objdump.output, Catch::Contains("endbr64"));
  CHECK_THAT(objdump.output, Catch::Contains("R_X86_64_PLT32\tputs-0x4"));
  CHECK_THAT(objdump.output, Catch::Contains("R_X86_64_PC32\tcounter-0x4"));
  CHECK_THAT(objdump.output, Catch::Contains("xor    %eax,%eax"));
}

}  // namespace
}  // namespace hotpatch::bundle::test
