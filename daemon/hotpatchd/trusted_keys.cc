#include "hotpatchd/trusted_keys.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "base/error.h"

namespace hotpatch::daemon {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

bundle::PublicKey ParsePublicKeyFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kBadRequest, "--trusted-keys: cannot read " + path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  bundle::PublicKey key{};
  if (text.size() == key.size()) {
    std::copy(text.begin(), text.end(), key.begin());
    return key;
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  bool hex = text.size() == 2 * key.size() &&
             std::all_of(text.begin(), text.end(), [](char c) { return HexValue(c) >= 0; });
  if (!hex)
    throw Error(ErrorCode::kBadRequest,
                "--trusted-keys: " + path +
                    " is not an Ed25519 public key (64 hex digits as hotpatch-gen keygen writes, "
                    "or 32 raw bytes)");
  for (size_t i = 0; i < key.size(); ++i)
    key[i] = static_cast<uint8_t>(HexValue(text[2 * i]) * 16 + HexValue(text[2 * i + 1]));
  return key;
}

}  // namespace

TrustedKeys TrustedKeys::LoadDirectory(const std::string& dir) {
  TrustedKeys keys;
  keys.required_ = true;
  keys.dir_ = dir;
  std::error_code error;
  std::filesystem::directory_iterator entries(dir, error);
  if (error)
    throw Error(ErrorCode::kBadRequest,
                "--trusted-keys: cannot read directory " + dir + ": " + error.message());
  for (const auto& entry : entries)
    if (entry.path().extension() == ".pub" && entry.is_regular_file())
      keys.keys_.push_back(ParsePublicKeyFile(entry.path().string()));
  if (keys.keys_.empty())
    throw Error(ErrorCode::kBadRequest, "--trusted-keys: no *.pub key file in " + dir);
  return keys;
}

void TrustedKeys::RequireTrustedSignature(std::span<const uint8_t> bytes,
                                          const std::string& what) const {
  if (!required_) return;
  switch (bundle::VerifySignature(bytes, keys_)) {
    case bundle::SignatureState::kValid:
      return;
    case bundle::SignatureState::kUnsigned:
      throw Error(ErrorCode::kBadBundle,
                  what + " is unsigned; this hotpatchd only runs bundles signed by a key in " +
                      dir_ + " (sign it with hotpatch-gen sign)");
    case bundle::SignatureState::kInvalid:
      throw Error(ErrorCode::kBadBundle,
                  what +
                      " has an invalid signature: the file changed after it was signed, or "
                      "the signature is corrupt");
    case bundle::SignatureState::kUntrustedKey:
      throw Error(ErrorCode::kBadBundle, what + " is signed by an untrusted key (none of the " +
                                             std::to_string(keys_.size()) + " key(s) in " + dir_ +
                                             ")");
  }
  throw Error(ErrorCode::kInternal, "unknown signature state");
}

}  // namespace hotpatch::daemon
