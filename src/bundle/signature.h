// Ed25519 signatures of bundles (docs/bundle-format.md, "Signature"). The signature signs the
// checksum, which covers every byte of the file but the checksum and signature themselves, and
// the signer's public key travels with it so that an unknown key is told apart from tampering.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace hotpatch::bundle {

using PublicKey = std::array<uint8_t, 32>;

struct SigningKeyPair {
  PublicKey public_key{};
  std::array<uint8_t, 64> secret_key{};  // libsodium's Ed25519 secret key (seed + public key)
};

SigningKeyPair GenerateSigningKeyPair();

// The bundle signed with `ed25519_secret_key` (64 bytes, libsodium layout). The input must be a
// valid bundle (ReadBundle's checks, checksum included), signed or not; an existing signature is
// replaced. Throws Error(kBadBundle) for a bad bundle, Error(kBadRequest) for a bad key.
std::vector<uint8_t> SignBundle(std::span<const uint8_t> bytes,
                                std::span<const uint8_t> ed25519_secret_key);

enum class SignatureState {
  kUnsigned,      // no .hotpatch.signature
  kValid,         // signature verifies, with a trusted key, over the file as it is
  kInvalid,       // the file changed after signing, or the signature is garbage
  kUntrustedKey,  // a valid signature by a key that is not trusted
};

const char* SignatureStateName(SignatureState state);  // "unsigned", "valid", ...

// The hook a daemon uses with its trusted keys. Checks the ELF skeleton (throws Error(kBadBundle)
// when that is broken) but not the rest of the bundle: that is ReadBundle's job, and a caller
// needs both.
SignatureState VerifySignature(std::span<const uint8_t> bytes,
                               const std::vector<PublicKey>& trusted_public_keys);

}  // namespace hotpatch::bundle
