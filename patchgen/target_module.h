// The module a bundle is for: its bytes come from the binary (what is mapped in the target), its
// symbols from the binary's .symtab or, for a stripped binary, from the separate debug file
// (--debug-file, or /usr/lib/debug/.build-id/xx/yyyy.debug as gdb finds it).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "elf/elf_file.h"

namespace hotpatch::patchgen {

class TargetModule {
 public:
  // Throws Error(kMismatch) when the debug file's build-id is not the binary's, and
  // Error(kNotFound) when the binary has no .symtab and no debug file is found.
  TargetModule(const std::string& binary_path, const std::optional<std::string>& debug_file);

  const elf::ElfFile& binary() const { return binary_; }
  const elf::ElfFile& symbols_file() const { return debug_ ? *debug_ : binary_; }
  const std::string& path() const { return binary_.path(); }

  // The definition code in the target binds `name` to: the global one, or the local one from
  // `source_file` when `local`. Null when there is none; throws Error(kMismatch) listing the
  // candidates when the name is ambiguous.
  const elf::Symbol* FindDefinition(const std::string& name, bool local,
                                    const std::string& source_file) const;

 private:
  elf::ElfFile binary_;
  std::optional<elf::ElfFile> debug_;
};

}  // namespace hotpatch::patchgen
