// The Ed25519 public keys hotpatchd trusts (hotpatchd --trusted-keys DIR). With keys configured,
// the daemon runs only bundles signed by one of them: whoever may talk to the socket can then
// still not make root execute code nobody with a signing key vouched for.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "bundle/signature.h"

namespace hotpatch::daemon {

class TrustedKeys {
 public:
  TrustedKeys() = default;  // no keys: signatures are not required

  // Every *.pub in `dir`: 64 hex digits and a newline (as `hotpatch-gen keygen` writes them) or
  // the 32 raw bytes. Throws Error(kBadRequest) naming the file for anything else, and for a
  // directory without a single key (a typo must not silently disable the check).
  static TrustedKeys LoadDirectory(const std::string& dir);

  bool required() const { return required_; }
  size_t size() const { return keys_.size(); }

  // With keys configured: throws Error(kBadBundle) saying why `bytes` (named `what`) is refused:
  // unsigned, invalid signature, or signed by a key that is not trusted. Without keys: nothing.
  void RequireTrustedSignature(std::span<const uint8_t> bytes, const std::string& what) const;

 private:
  bool required_ = false;
  std::vector<bundle::PublicKey> keys_;
  std::string dir_;
};

}  // namespace hotpatch::daemon
