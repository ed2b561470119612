#include "base/remote_ptr.h"

#include "base/hex.h"

namespace hotpatch {

std::string RemotePtr::ToString() const { return Hex(address_); }

}  // namespace hotpatch
