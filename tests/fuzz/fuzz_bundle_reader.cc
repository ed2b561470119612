// libFuzzer harness: a bundle is untrusted input (a user hands it to hotpatchctl, the daemon reads
// it as root). Everything the daemon does with bundle bytes before it touches a target runs here:
// the signature check over the ELF skeleton and the full read/validate. Only Error may come out;
// any other exception, crash or sanitizer report is a finding.
//
// Oracle beyond "no crash": a bundle that reads must write back deterministically to bytes that
// read back to the same model (ReadBundle validates everything WriteBundle relies on).
//
// A mutated bundle almost never keeps a valid checksum, and the reader checks the checksum before
// it validates the model (sections, symbols, relocations, the carried .eh_frame). So an input
// whose stored checksum is wrong is read a second time with the checksum repaired: the mutations
// then reach the validation a hostile bundle, checksummed by its author, would reach.
#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "base/error.h"
#include "bundle/bundle.h"
#include "bundle/checksum.h"
#include "bundle/signature.h"

namespace {

// A fixed key: verification must run its whole path (the signature section is found and checked
// against a trusted key), not stop at "no trusted keys".
const std::vector<hotpatch::bundle::PublicKey> kTrustedKeys = {
    hotpatch::bundle::PublicKey{1, 2, 3}};

void ReadAndRoundTrip(std::span<const uint8_t> bytes) {
  hotpatch::bundle::Bundle bundle;
  try {
    bundle = hotpatch::bundle::ReadBundle(bytes);
  } catch (const hotpatch::Error&) {
    return;
  }
  std::vector<uint8_t> written = hotpatch::bundle::WriteBundle(bundle);
  if (!(hotpatch::bundle::ReadBundle(written) == bundle)) __builtin_trap();
  if (hotpatch::bundle::WriteBundle(bundle) != written) __builtin_trap();
}

// `bytes` with the checksum it should have in place of the one it has; empty when the skeleton
// does not even locate the checksum, or it is right already.
std::vector<uint8_t> WithRepairedChecksum(std::span<const uint8_t> bytes) {
  hotpatch::bundle::Checksum stored, actual;
  try {
    stored = hotpatch::bundle::StoredChecksum(bytes);
    actual = hotpatch::bundle::BundleChecksum(bytes);
  } catch (const hotpatch::Error&) {
    return {};
  }
  if (stored == actual) return {};
  // The stored value's place: its first occurrence (32 random bytes occur once).
  auto at = std::search(bytes.begin(), bytes.end(), stored.begin(), stored.end());
  if (at == bytes.end()) return {};
  std::vector<uint8_t> repaired(bytes.begin(), bytes.end());
  std::copy(actual.begin(), actual.end(), repaired.begin() + (at - bytes.begin()));
  return repaired;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  try {
    hotpatch::bundle::VerifySignature(bytes, kTrustedKeys);
  } catch (const hotpatch::Error&) {
  }
  ReadAndRoundTrip(bytes);
  std::vector<uint8_t> repaired = WithRepairedChecksum(bytes);
  if (!repaired.empty()) ReadAndRoundTrip(repaired);
  return 0;
}
