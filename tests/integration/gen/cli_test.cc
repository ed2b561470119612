// hotpatch-gen's other paths: target matching (a target not built from the original objects, a
// stripped target with its debug file) and signing (keygen, sign).
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "base/hex.h"
#include "bundle/signature.h"
#include "corpus_case.h"
#include "support/target_process.h"

namespace hotpatch::test {
namespace {

namespace fs = std::filesystem;

struct Workspace {
  Workspace() {
    char pattern[] = "/tmp/hotpatch-gen-cli-test-XXXXXX";
    REQUIRE(mkdtemp(pattern) != nullptr);
    path = pattern;
    const std::string corpus = SourceDir() + "/tests/gen/corpus";
    std::string output;
    // The simple_change case, built by hand: original and patched objects plus the program.
    REQUIRE(RunShell("cd " + path + " && mkdir orig patched && cp " + corpus +
                         "/simple_change/case.c " + corpus + "/harness.c orig/ && cp orig/*.c " +
                         "patched/ && patch -s -p1 -d patched < " + corpus +
                         "/simple_change/fix.diff && for d in orig patched; do for f in case " +
                         "harness; do cc " + kFlags + " -c $d/$f.c -o $d/$f.o || exit 1; done; " +
                         "done",
                     output) == 0);
  }
  ~Workspace() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
  int Diff(const std::string& target, const std::string& extra, std::string& output) const {
    return RunShell(BinaryDir() + "/patchgen/hotpatch-gen diff --target " + target + " --orig " +
                        path + "/orig --patched " + path + "/patched -o " + path + "/out.hpb " +
                        extra,
                    output);
  }
  static constexpr const char* kFlags =
      "-O2 -g -fPIE -fno-omit-frame-pointer -ffunction-sections -fdata-sections";
  std::string path;
};

}  // namespace

TEST_CASE("diff refuses a target the original objects did not build") {
  Workspace work;
  std::string output;
  // Same sources, other optimisation level: compute() has other bytes in the target.
  REQUIRE(RunShell("cd " + work.path + " && cc -O0 -fPIE -ffunction-sections -fdata-sections " +
                       "orig/case.c orig/harness.c -pie -o other",
                   output) == 0);
  const int status = work.Diff(work.path + "/other", "", output);
  INFO(output);
  CHECK(status == 4);
  CHECK_THAT(output, Catch::Matchers::Contains("function compute"));
  CHECK_THAT(output, Catch::Matchers::Contains("did not build"));
}

TEST_CASE("diff takes a stripped target's symbols from --debug-file") {
  Workspace work;
  std::string output;
  REQUIRE(RunShell("cd " + work.path + " && cc -pie orig/case.o orig/harness.o -o program && " +
                       "objcopy --only-keep-debug program program.debug && strip program",
                   output) == 0);
  int status = work.Diff(work.path + "/program", "", output);
  CHECK(status == 1);
  CHECK_THAT(output, Catch::Matchers::Contains("stripped"));
  status =
      work.Diff(work.path + "/program", "--debug-file " + work.path + "/program.debug", output);
  INFO(output);
  CHECK(status == 0);
  CHECK_THAT(output, Catch::Matchers::Contains("replace compute"));
}

TEST_CASE("diff finds a stripped target's debug file under /usr/lib/debug/.build-id") {
  Workspace work;
  std::string output;
  REQUIRE(RunShell("cd " + work.path + " && cc -pie orig/case.o orig/harness.o -o program && " +
                       "objcopy --only-keep-debug program program.debug && strip program",
                   output) == 0);
  // gdb's layout, as Debian's -dbgsym packages install it: .build-id/xx/rest-of-id.debug. The
  // build-id hashes the workspace's paths too, so no other file has this name.
  REQUIRE(RunShell("readelf -n " + work.path + "/program | sed -n 's/.*Build ID: //p'", output) ==
          0);
  const std::string id = output.substr(0, output.find('\n'));
  REQUIRE(id.size() == 40);
  const fs::path directory = "/usr/lib/debug/.build-id/" + id.substr(0, 2);
  const fs::path installed = directory / (id.substr(2) + ".debug");
  std::error_code error;
  const bool created_directory = fs::create_directories(directory, error);
  if (error || !fs::copy_file(work.path + "/program.debug", installed, error)) {
    WARN("cannot install " << installed << " (" << error.message() << "): not run");
    return;
  }
  const int status = work.Diff(work.path + "/program", "", output);
  fs::remove(installed, error);
  if (created_directory) fs::remove(directory, error);
  INFO(output);
  CHECK(status == 0);
  CHECK_THAT(output, Catch::Matchers::Contains("replace compute"));
}

TEST_CASE("diff refuses a debug file of another build") {
  Workspace work;
  std::string output;
  REQUIRE(RunShell("cd " + work.path + " && cc -pie orig/case.o orig/harness.o -o program && " +
                       "cc -pie patched/case.o patched/harness.o -o other && " +
                       "objcopy --only-keep-debug other other.debug && strip program",
                   output) == 0);
  const int status =
      work.Diff(work.path + "/program", "--debug-file " + work.path + "/other.debug", output);
  INFO(output);
  CHECK(status == 4);
  CHECK_THAT(output, Catch::Matchers::Contains("build-id"));
}

TEST_CASE("keygen and sign: the signature verifies with the written public key") {
  Workspace work;
  std::string output;
  REQUIRE(RunShell("cd " + work.path + " && cc -pie orig/case.o orig/harness.o -o program",
                   output) == 0);
  REQUIRE(work.Diff(work.path + "/program", "", output) == 0);
  const std::string gen = BinaryDir() + "/patchgen/hotpatch-gen";
  REQUIRE(RunShell(gen + " keygen -o " + work.path + "/release", output) == 0);
  CHECK((fs::status(work.path + "/release.key").permissions() & fs::perms::others_read) ==
        fs::perms::none);
  // keygen never overwrites a key.
  CHECK(RunShell(gen + " keygen -o " + work.path + "/release", output) == 1);
  REQUIRE(RunShell(gen + " sign --key " + work.path + "/release.key " + work.path + "/out.hpb -o " +
                       work.path + "/signed.hpb",
                   output) == 0);

  std::ifstream pub(work.path + "/release.pub");
  std::string hex;
  pub >> hex;
  const auto key_bytes = ParseHexDigits(hex);
  REQUIRE(key_bytes);
  REQUIRE(key_bytes->size() == 32);
  bundle::PublicKey key;
  std::copy(key_bytes->begin(), key_bytes->end(), key.begin());
  auto read = [](const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  };
  CHECK(bundle::VerifySignature(read(work.path + "/signed.hpb"), {key}) ==
        bundle::SignatureState::kValid);
  CHECK(bundle::VerifySignature(read(work.path + "/out.hpb"), {key}) ==
        bundle::SignatureState::kUnsigned);
}

TEST_CASE("diff refuses objects built without -ffunction-sections, naming the flag") {
  Workspace work;
  std::string output;
  REQUIRE(RunShell("cd " + work.path + " && cc -O2 -fPIE -fdata-sections -c orig/case.c -o " +
                       "plain.o && cc -pie orig/case.o orig/harness.o -o program",
                   output) == 0);
  const int status = RunShell(BinaryDir() + "/patchgen/hotpatch-gen diff --target " + work.path +
                                  "/program --orig " + work.path + "/plain.o --patched " +
                                  work.path + "/patched/case.o -o " + work.path + "/x.hpb",
                              output);
  INFO(output);
  CHECK(status == 1);
  CHECK_THAT(output, Catch::Matchers::Contains("compiled without -ffunction-sections"));
}

}  // namespace hotpatch::test
