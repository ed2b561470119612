// The module a bundle is for: its bytes come from the binary (what is mapped in the target), its
// symbols from the binary's .symtab or, for a stripped binary, from the separate debug file
// (--debug-file, or /usr/lib/debug/.build-id/xx/yyyy.debug as gdb finds it).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "elf/dwarf_types.h"
#include "elf/elf_file.h"

namespace hotpatch::patchgen {

// Where an object's local symbols come from: its STT_FILE name (a base name, "util.c") and its
// DWARF compile unit's name ("net/util.c", empty without DWARF).
struct LocalOrigin {
  std::string source_file;
  std::string unit_name;
};

class TargetModule {
 public:
  // Throws Error(kMismatch) when the debug file's build-id is not the binary's, and
  // Error(kNotFound) when the binary has no .symtab and no debug file is found.
  TargetModule(const std::string& binary_path, const std::optional<std::string>& debug_file);

  const elf::ElfFile& binary() const { return binary_; }
  const elf::ElfFile& symbols_file() const { return debug_ ? *debug_ : binary_; }
  const std::string& path() const { return binary_.path(); }

  // The definition code in the target binds `name` to: the global one, or when `local` the
  // local one from `origin` (its STT_FILE name; when two files share that name, the one whose
  // address lies in origin.unit_name's compile unit). Null when there is none; throws
  // Error(kMismatch) listing the candidates when the name is ambiguous.
  const elf::Symbol* FindDefinition(const std::string& name, bool local,
                                    const LocalOrigin& origin = {}) const;

 private:
  std::vector<const elf::Symbol*> InUnit(const std::vector<const elf::Symbol*>& symbols,
                                         const std::string& unit_name) const;

  elf::ElfFile binary_;
  std::optional<elf::ElfFile> debug_;
  mutable std::optional<std::vector<elf::DwarfUnitRange>> unit_ranges_;  // read when needed
};

}  // namespace hotpatch::patchgen
