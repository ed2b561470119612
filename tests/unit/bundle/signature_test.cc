#include "bundle/signature.h"

#include <catch2/catch.hpp>

#include "base/error.h"
#include "bundle/bundle.h"
#include "bundle/checksum.h"
#include "bundle/on_disk_records.h"
#include "sample_bundles.h"

namespace hotpatch::bundle::test {
namespace {

TEST_CASE("a signed bundle verifies with its key and reads as the same bundle") {
  const SigningKeyPair key = GenerateSigningKeyPair();
  const std::vector<uint8_t> unsigned_file = WriteBundle(RichBundle());
  const std::vector<uint8_t> signed_file = SignBundle(unsigned_file, key.secret_key);
  CHECK(VerifySignature(signed_file, {key.public_key}) == SignatureState::kValid);
  CHECK(ReadBundle(signed_file) == RichBundle());
  CHECK(StoredChecksum(signed_file) == BundleChecksum(signed_file));
  // Signing is deterministic (Ed25519 is), so the same key signs the same bytes.
  CHECK(SignBundle(unsigned_file, key.secret_key) == signed_file);
  CHECK(SignBundle(signed_file, key.secret_key) == signed_file);
}

TEST_CASE("an unsigned bundle is reported unsigned") {
  const SigningKeyPair key = GenerateSigningKeyPair();
  CHECK(VerifySignature(WriteBundle(SmallBundle()), {key.public_key}) == SignatureState::kUnsigned);
}

TEST_CASE("a signature by a key that is not trusted is reported as such") {
  const SigningKeyPair signer = GenerateSigningKeyPair();
  const SigningKeyPair trusted = GenerateSigningKeyPair();
  const std::vector<uint8_t> file = SignBundle(WriteBundle(SmallBundle()), signer.secret_key);
  CHECK(VerifySignature(file, {trusted.public_key}) == SignatureState::kUntrustedKey);
  CHECK(VerifySignature(file, {}) == SignatureState::kUntrustedKey);
  CHECK(VerifySignature(file, {trusted.public_key, signer.public_key}) == SignatureState::kValid);
}

TEST_CASE("a bundle changed after signing is invalid") {
  const SigningKeyPair key = GenerateSigningKeyPair();
  const std::vector<uint8_t> original = SignBundle(WriteBundle(RichBundle()), key.secret_key);
  const uint64_t code = SectionOffset(original, ".text.fixed_function");
  const uint64_t signature = SectionOffset(original, kSignatureSection);

  SECTION("a code byte changed") {
    std::vector<uint8_t> file = original;
    file[code + 4] = 0xcc;
    CHECK(VerifySignature(file, {key.public_key}) == SignatureState::kInvalid);
    Reseal(file);  // an attacker can recompute the checksum, but cannot sign it
    CHECK(VerifySignature(file, {key.public_key}) == SignatureState::kInvalid);
    CHECK_NOTHROW(ReadBundle(file));
  }
  SECTION("a signature byte changed") {
    std::vector<uint8_t> file = original;
    file[signature + offsetof(SignatureRecord, signature) + 10] ^= 0x20;
    CHECK(VerifySignature(file, {key.public_key}) == SignatureState::kInvalid);
  }
  SECTION("the key swapped for a trusted one") {
    const SigningKeyPair other = GenerateSigningKeyPair();
    std::vector<uint8_t> file = original;
    std::copy(other.public_key.begin(), other.public_key.end(),
              file.begin() + static_cast<std::ptrdiff_t>(signature));
    CHECK(VerifySignature(file, {key.public_key, other.public_key}) == SignatureState::kInvalid);
  }
}

TEST_CASE("no single flipped byte of a signed bundle passes both reading and verification") {
  const SigningKeyPair key = GenerateSigningKeyPair();
  const std::vector<uint8_t> original = SignBundle(WriteBundle(SmallBundle()), key.secret_key);
  size_t accepted = 0;
  for (size_t i = 0; i < original.size(); ++i) {
    std::vector<uint8_t> file = original;
    file[i] ^= 0x04;
    try {
      ReadBundle(file);
      if (VerifySignature(file, {key.public_key}) == SignatureState::kValid) {
        ++accepted;
        UNSCOPED_INFO("accepted with byte " << i << " flipped");
      }
    } catch (const Error& error) {
      CHECK(error.code() == ErrorCode::kBadBundle);
    }
  }
  CHECK(accepted == 0);
}

TEST_CASE("signing refuses a corrupt bundle and a malformed key") {
  const SigningKeyPair key = GenerateSigningKeyPair();
  std::vector<uint8_t> file = WriteBundle(SmallBundle());
  try {
    SignBundle(std::span(file).first(32), key.secret_key);
    FAIL("signed a truncated bundle");
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kBadBundle);
  }
  try {
    SignBundle(file, std::span(key.secret_key).first(32));
    FAIL("signed with a 32-byte key");
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kBadRequest);
  }
}

TEST_CASE("an unknown private section is refused") {
  const SigningKeyPair key = GenerateSigningKeyPair();
  std::vector<uint8_t> file = SignBundle(WriteBundle(SmallBundle()), key.secret_key);
  // Rename .hotpatch.signature to .hotpatch.signaturX in the section name table: a section this
  // reader does not know, as a newer writer might add.
  const uint64_t names = SectionOffset(file, ".shstrtab");
  const std::string_view table(reinterpret_cast<const char*>(file.data() + names),
                               file.size() - names);
  const size_t at = table.find(kSignatureSection);
  REQUIRE(at != std::string_view::npos);
  file[names + at + kSignatureSection.size() - 1] = 'X';
  Reseal(file);
  try {
    ReadBundle(file);
    FAIL("accepted");
  } catch (const Error& error) {
    CHECK(error.code() == ErrorCode::kBadBundle);
    CHECK_THAT(error.what(), Catch::Contains("'.hotpatch.signaturX': unknown section"));
  }
}

}  // namespace
}  // namespace hotpatch::bundle::test
