// hotpatch-gen keygen -o KEYBASE            writes KEYBASE.key (secret, mode 0600) and KEYBASE.pub
// hotpatch-gen sign --key KEYBASE.key BUNDLE [-o OUT]
// Key files hold lower-case hex and a newline: 128 digits (libsodium's 64-byte Ed25519 secret
// key, seed + public key) or 64 digits (the public key), the form a trusted-keys directory of
// hotpatchd is meant to hold.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iostream>
#include <iterator>

#include "base/error.h"
#include "base/hex.h"
#include "base/unique_fd.h"
#include "bundle/signature.h"
#include "command_line.h"
#include "commands.h"

namespace hotpatch::patchgen {
namespace {

// O_EXCL: never overwrite a key; a lost secret key is worse than a failed command.
void WriteNewFile(const std::string& path, const std::string& text, mode_t mode) {
  UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode));
  if (!fd.valid()) throw ErrnoError("create " + path);
  if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    throw ErrnoError("write " + path);
  }
}

std::vector<uint8_t> ReadFileBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kNotFound, path + ": cannot open");
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
}

std::vector<uint8_t> ReadSecretKey(const std::string& path) {
  const std::vector<uint8_t> raw = ReadFileBytes(path);
  std::string text(raw.begin(), raw.end());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  const auto key = ParseHexDigits(text);
  if (!key || key->size() != 64) {
    throw Error(ErrorCode::kBadRequest,
                path + ": not a secret key file (128 hex digits, as hotpatch-gen keygen writes)");
  }
  return *key;
}

}  // namespace

int KeygenCommand(const std::vector<std::string>& args) {
  auto parsed = ParseArguments(args, {"-o"});
  if (!parsed.positional.empty())
    throw UsageError("unexpected argument " + parsed.positional.front());
  const std::string& base = parsed.Required("-o");
  const bundle::SigningKeyPair pair = bundle::GenerateSigningKeyPair();
  WriteNewFile(base + ".pub", HexDigits(pair.public_key) + "\n", 0644);
  WriteNewFile(base + ".key", HexDigits(pair.secret_key) + "\n", 0600);
  std::cout << "wrote " << base << ".key and " << base << ".pub (public key "
            << HexDigits(pair.public_key) << ")\n";
  return 0;
}

int SignCommand(const std::vector<std::string>& args) {
  auto parsed = ParseArguments(args, {"--key", "-o"});
  if (parsed.positional.size() != 1) throw UsageError("sign needs exactly one BUNDLE");
  const std::string& bundle_path = parsed.positional.front();
  const std::vector<uint8_t> key = ReadSecretKey(parsed.Required("--key"));
  const std::vector<uint8_t> signed_bytes = bundle::SignBundle(ReadFileBytes(bundle_path), key);
  const std::string output = parsed.Optional("-o").value_or(bundle_path);
  WriteBundleFile(output, signed_bytes);
  std::cout << "signed " << output << "\n";
  return 0;
}

}  // namespace hotpatch::patchgen
