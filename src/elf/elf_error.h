// The one error every ELF parsing failure becomes: kBadRequest naming the file and the field.
#pragma once

#include <string>

#include "base/error.h"

namespace hotpatch::elf {

inline Error MalformedElf(const std::string& path, const std::string& what) {
  return Error(ErrorCode::kBadRequest, path + ": malformed ELF: " + what);
}

}  // namespace hotpatch::elf
