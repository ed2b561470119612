// What `hotpatchctl info` and the protocol's "info" request show of a bundle.
#pragma once

#include <cstdint>
#include <span>

#include "proto/messages.h"

namespace hotpatch {

// Parses and validates the bundle (Error(kBadBundle) naming the field when it is broken) and
// describes it. No trusted keys are configured yet, so a good signature reads "untrusted_key".
proto::InfoResult SummarizeBundle(std::span<const uint8_t> bytes);

}  // namespace hotpatch
