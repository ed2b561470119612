// Turns a compiled patch object (a .o built with -ffunction-sections) into a Bundle for one
// target module: each function the object defines under the name of a target function replaces
// it, other functions are new, and every undefined symbol becomes a target symbol (at its offset
// from the module's load bias) or an external one (resolved at apply time in loaded libraries).
#pragma once

#include <cstdint>
#include <string>

#include "bundle/bundle.h"
#include "elf/elf_file.h"

namespace hotpatch::bundle {

struct FromObjectOptions {
  std::string patch_id;
  std::string description;
  std::string target_module;  // empty: the file name of the target's path
  Placement preferred_placement = Placement::kAuto;
  uint64_t created_unix = 0;
};

// Throws Error(kBadRequest) for an object it cannot carry (not an x86-64 ET_REL, SHN_COMMON or
// thread-local definitions, a relocation against something not carried), Error(kMismatch) when a
// name is ambiguous in the target (the message lists the candidates with their source files and
// offsets) or the target lacks a build-id or a replaced function's bytes, and Error(kBadBundle)
// if the result breaks a bundle rule.
Bundle BundleFromObject(const elf::ElfFile& patch_object, const elf::ElfFile& target,
                        const FromObjectOptions& options);

}  // namespace hotpatch::bundle
