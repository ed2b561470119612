// libsodium must be initialised once per process before use (it picks implementations and seeds
// its random generator); every bundle function that calls libsodium calls this first.
#pragma once

namespace hotpatch::bundle {

void InitialiseSodium();

}  // namespace hotpatch::bundle
