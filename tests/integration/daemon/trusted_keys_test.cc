// hotpatchd --trusted-keys: apply and install accept only bundles signed by a trusted key, and
// say why they refuse the others (unsigned, invalid signature, untrusted key).
#include <sys/stat.h>
#include <sys/wait.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

#include "base/hex.h"
#include "bundle/signature.h"
#include "daemon_fixture.h"
#include "engine/engine.h"

namespace hotpatch::test {
namespace {

std::vector<uint8_t> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

std::string WriteFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(bytes.data()),
             static_cast<std::streamsize>(bytes.size()));
  return path;
}

}  // namespace

TEST_CASE("with --trusted-keys only bundles signed by a trusted key are applied or installed") {
  TempDir dir;
  auto trusted = bundle::GenerateSigningKeyPair();
  auto stranger = bundle::GenerateSigningKeyPair();
  std::string keys = dir.path() + "/keys";
  REQUIRE(mkdir(keys.c_str(), 0755) == 0);
  // As hotpatch-gen keygen writes it: hex digits and a newline.
  std::ofstream(keys + "/ops.pub") << HexDigits(trusted.public_key) << "\n";

  RunningDaemon daemon(dir.path() + "/hotpatchd.sock", {"--trusted-keys", keys});
  std::string socket = daemon.socket_path();
  TargetProcess target(TargetPath("install_loop"), {"2"});
  target.WaitForLine("ready");
  std::string pid = std::to_string(target.pid());

  std::string unsigned_path =
      BuildBundleFile("version2", TargetPath("install_loop"), "version2", dir);
  std::vector<uint8_t> plain = ReadFile(unsigned_path);
  std::vector<uint8_t> good = bundle::SignBundle(plain, trusted.secret_key);
  std::string good_path = WriteFile(dir.path() + "/good.hpb", good);
  std::string stranger_path =
      WriteFile(dir.path() + "/stranger.hpb", bundle::SignBundle(plain, stranger.secret_key));
  // One byte of the signed file changed: the checksum the signature covers no longer matches.
  std::vector<uint8_t> tampered = good;
  tampered[tampered.size() / 2] ^= 0x01;
  std::string tampered_path = WriteFile(dir.path() + "/tampered.hpb", tampered);

  struct Refusal {
    std::string path;
    std::string reason;
  };
  for (const auto& [path, reason] :
       {Refusal{unsigned_path, "unsigned"}, Refusal{stranger_path, "untrusted key"},
        Refusal{tampered_path, "invalid signature"}}) {
    for (const std::string command : {"apply", "install"}) {
      INFO(command << " " << path);
      std::vector<std::string> args = {"--socket", socket, "--json", command};
      if (command == "apply") args.push_back(pid);
      args.push_back(path);
      CtlRun run = RunCtl(args, dir);
      CHECK(run.exit_code == 1);
      auto error = run.Json();
      // A tampered byte may also break the bundle's structure; it must be refused either way.
      CHECK(error["error"] == "bad_bundle");
      if (path != tampered_path)
        CHECK_THAT(error["message"].get<std::string>(), Catch::Contains(reason));
    }
  }
  CHECK(ListPatches(target.pid()).empty());
  CtlRun list = RunCtl({"--socket", socket, "--json", "list"}, dir);
  CHECK(list.Json()["installed"].empty());

  CtlRun apply = RunCtl({"--socket", socket, "--json", "apply", pid, good_path}, dir);
  INFO(apply.err);
  REQUIRE(apply.exit_code == 0);
  WaitForVersion(target, 2);
  CHECK(RunCtl({"--socket", socket, "revert", pid}, dir).exit_code == 0);
  CHECK(RunCtl({"--socket", socket, "install", good_path}, dir).exit_code == 0);
  WaitForVersion(target, 2);
  CHECK(RunCtl({"--socket", socket, "uninstall", "version2"}, dir).exit_code == 0);
}

TEST_CASE("hotpatchd refuses to start with a trusted-keys directory it cannot use") {
  TempDir dir;
  std::string keys = dir.path() + "/keys";
  REQUIRE(mkdir(keys.c_str(), 0755) == 0);
  auto start = [&] {
    TargetProcess daemon("/bin/sh", {"-c", "exec " + ShellQuote(HOTPATCHD_PATH) + " --socket " +
                                               ShellQuote(dir.path() + "/s") + " --state-dir " +
                                               ShellQuote(dir.path() + "/state") +
                                               " --trusted-keys " + ShellQuote(keys) + " 2>&1"});
    std::string line = daemon.ReadLine();
    int status = daemon.WaitForExit();
    CHECK(WEXITSTATUS(status) == 1);
    return line;
  };
  // Empty: a typo in the path must not silently turn the check off.
  CHECK_THAT(start(), Catch::Contains("no *.pub key file"));
  std::ofstream(keys + "/broken.pub") << "not a key\n";
  CHECK_THAT(start(), Catch::Contains("broken.pub is not an Ed25519 public key"));
}

}  // namespace hotpatch::test
