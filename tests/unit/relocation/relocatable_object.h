// Test-side reader of a compiler's ET_REL output into the linker's input structs, with libelf
// directly: the end-to-end test must not depend on the bundle format being written elsewhere.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/patch_image.h"

namespace hotpatch::test {

struct RelocatableObject {
  std::vector<ImageSection> sections;       // the SHF_ALLOC sections, in file order
  std::vector<ResolvedSymbol> symbols;      // indexed like .symtab
  std::map<std::string, uint32_t> defined;  // name of each defined global -> its symbol index
};

// Resolves an undefined symbol of the object (`is_thread_local` for STT_TLS).
using ResolveUndefined = std::function<ResolvedSymbol(const std::string& name, bool is_thread_local)>;

RelocatableObject ReadRelocatableObject(const std::string& path, const ResolveUndefined& resolve);

}  // namespace hotpatch::test
