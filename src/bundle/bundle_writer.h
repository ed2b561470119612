// Serialisation shared by WriteBundle and SignBundle.
#pragma once

#include <cstdint>
#include <vector>

#include "bundle/bundle.h"

namespace hotpatch::bundle {

// The bundle file with a zero-filled .hotpatch.signature for SignBundle to fill in; the checksum
// is already right, since it reads the signature's contents as zeros.
std::vector<uint8_t> WriteBundleWithSignatureSlot(const Bundle& bundle);

}  // namespace hotpatch::bundle
