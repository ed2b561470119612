// Compiler-made symbol names. GCC derives new names from a source name when it clones or splits a
// function (.constprop.N, .isra.N, .part.N, .cold) and numbers function-scope statics (name.N);
// the numbers depend on the order the compiler met things, so they differ between two builds of
// slightly different sources. Correlating the original and the patched object needs the name
// without the numbers, but with the kind of clone kept: foo and foo.constprop.0 are different
// code and may coexist.
#pragma once

#include <string>

namespace hotpatch::patchgen {

struct NormalizedName {
  std::string key;       // "foo", "foo.constprop", "foo.part.isra", "counter"
  bool is_cold = false;  // a .cold part split off its function by -freorder-blocks-and-partition
};

NormalizedName NormalizeSymbolName(const std::string& name);

// Section names with the same numbers normalised ("[.rodata.counter.1]" -> ".rodata.counter").
std::string NormalizeSectionName(const std::string& name);

}  // namespace hotpatch::patchgen
