// libFuzzer harness: a bundle is untrusted input (a user hands it to hotpatchctl, the daemon reads
// it as root). Everything the daemon does with bundle bytes before it touches a target runs here:
// the signature check over the ELF skeleton and the full read/validate. Only Error may come out;
// any other exception, crash or sanitizer report is a finding.
//
// Oracle beyond "no crash": a bundle that reads must write back deterministically to bytes that
// read back to the same model (ReadBundle validates everything WriteBundle relies on).
#include <cstdint>
#include <span>
#include <vector>

#include "base/error.h"
#include "bundle/bundle.h"
#include "bundle/signature.h"

namespace {

// A fixed key: verification must run its whole path (the signature section is found and checked
// against a trusted key), not stop at "no trusted keys".
const std::vector<hotpatch::bundle::PublicKey> kTrustedKeys = {
    hotpatch::bundle::PublicKey{1, 2, 3}};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::span<const uint8_t> bytes(data, size);
  try {
    hotpatch::bundle::VerifySignature(bytes, kTrustedKeys);
  } catch (const hotpatch::Error&) {
  }
  hotpatch::bundle::Bundle bundle;
  try {
    bundle = hotpatch::bundle::ReadBundle(bytes);
  } catch (const hotpatch::Error&) {
    return 0;
  }
  std::vector<uint8_t> written = hotpatch::bundle::WriteBundle(bundle);
  if (!(hotpatch::bundle::ReadBundle(written) == bundle)) __builtin_trap();
  if (hotpatch::bundle::WriteBundle(bundle) != written) __builtin_trap();
  return 0;
}
