#include "bundle/signature.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "base/error.h"
#include "bundle/bounded_bytes.h"
#include "bundle/bundle.h"
#include "bundle/bundle_writer.h"
#include "bundle/checksum.h"
#include "bundle/on_disk_records.h"
#include "bundle/section_table.h"
#include "bundle/sodium_init.h"

namespace hotpatch::bundle {

static_assert(sizeof(PublicKey) == crypto_sign_PUBLICKEYBYTES);
static_assert(sizeof(SigningKeyPair::secret_key) == crypto_sign_SECRETKEYBYTES);
static_assert(sizeof(SignatureRecord::signature) == crypto_sign_BYTES);

SigningKeyPair GenerateSigningKeyPair() {
  InitialiseSodium();
  SigningKeyPair pair;
  if (crypto_sign_keypair(pair.public_key.data(), pair.secret_key.data()) != 0) {
    throw Error(ErrorCode::kInternal, "crypto_sign_keypair failed");
  }
  return pair;
}

std::vector<uint8_t> SignBundle(std::span<const uint8_t> bytes,
                                std::span<const uint8_t> ed25519_secret_key) {
  InitialiseSodium();
  if (ed25519_secret_key.size() != crypto_sign_SECRETKEYBYTES) {
    throw Error(ErrorCode::kBadRequest, "signing key has " +
                                            std::to_string(ed25519_secret_key.size()) +
                                            " bytes, an Ed25519 secret key has " +
                                            std::to_string(crypto_sign_SECRETKEYBYTES));
  }
  // Writing is deterministic and reading lossless, so rewriting with a signature slot changes
  // nothing but the slot (and the checksum, which now covers the slot's place in the layout).
  std::vector<uint8_t> file = WriteBundleWithSignatureSlot(ReadBundle(bytes));
  const Checksum checksum = BundleChecksum(file);
  SignatureRecord record{};
  if (crypto_sign_ed25519_sk_to_pk(record.public_key, ed25519_secret_key.data()) != 0 ||
      crypto_sign_detached(record.signature, nullptr, checksum.data(), checksum.size(),
                           ed25519_secret_key.data()) != 0) {
    throw Error(ErrorCode::kInternal, "crypto_sign_detached failed");
  }
  const SectionTable table(file);
  std::memcpy(file.data() + table.Get(kSignatureSection).header.sh_offset, &record, sizeof record);
  return file;
}

const char* SignatureStateName(SignatureState state) {
  switch (state) {
    case SignatureState::kUnsigned:
      return "unsigned";
    case SignatureState::kValid:
      return "valid";
    case SignatureState::kInvalid:
      return "invalid";
    case SignatureState::kUntrustedKey:
      return "untrusted_key";
  }
  return "invalid";
}

SignatureState VerifySignature(std::span<const uint8_t> bytes,
                               const std::vector<PublicKey>& trusted_public_keys) {
  InitialiseSodium();
  const SectionTable table(bytes);
  const SectionEntry* section = table.Find(kSignatureSection);
  if (section == nullptr) return SignatureState::kUnsigned;
  if (section->contents.size() != sizeof(SignatureRecord)) return SignatureState::kInvalid;
  const auto record = ReadRecord<SignatureRecord>(section->contents, 0, kSignatureSection);
  // The signature must match the file as it is now, not merely the checksum stored in it.
  const Checksum computed = BundleChecksum(bytes);
  if (computed != StoredChecksum(bytes) ||
      crypto_sign_verify_detached(record.signature, computed.data(), computed.size(),
                                  record.public_key) != 0) {
    return SignatureState::kInvalid;
  }
  PublicKey signer;
  std::copy(std::begin(record.public_key), std::end(record.public_key), signer.begin());
  const bool trusted = std::find(trusted_public_keys.begin(), trusted_public_keys.end(), signer) !=
                       trusted_public_keys.end();
  return trusted ? SignatureState::kValid : SignatureState::kUntrustedKey;
}

}  // namespace hotpatch::bundle
