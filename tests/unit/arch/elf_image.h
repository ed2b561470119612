// Test-only view of an ELF file's sections and function symbols (libelf), to feed real
// compiler and linker output to the decoder. Works for ET_REL objects (sh_addr 0, st_value a
// section offset) and linked files alike: a symbol's bytes are at st_value - sh_addr of its
// section.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/remote_ptr.h"

namespace hotpatch::x86_64::testing {

struct CodeBytes {
  std::vector<uint8_t> bytes;
  RemotePtr address;  // link-time address (0-based section offset in an object file)
};

struct FunctionSymbol {
  std::string name;
  RemoteRange extent;
};

class ElfImage {
 public:
  explicit ElfImage(const std::string& path);

  std::optional<CodeBytes> Section(const std::string& name) const;
  // The bytes of a function symbol from .symtab; throws when it is missing.
  CodeBytes Function(const std::string& name) const;
  const std::vector<FunctionSymbol>& functions() const { return functions_; }

 private:
  struct LoadedSection {
    std::string name;
    uint64_t address;
    std::vector<uint8_t> bytes;
  };
  struct LoadedSymbol {
    FunctionSymbol symbol;
    size_t section_index;
  };
  std::vector<LoadedSection> sections_;  // indexed by section header index
  std::vector<LoadedSymbol> symbols_;
  std::vector<FunctionSymbol> functions_;
};

// Compiles C source with `cc` and the given flags in a temporary directory (gone again when the
// constructor returns) and loads the result: an object file (`-c`: branches to other sections
// are still unrelocated zeros) or a linked shared library (`-shared -fPIC`: every branch
// resolved).
class CompiledObject {
 public:
  enum class Output { kObject, kSharedLibrary };
  CompiledObject(const std::string& c_source, const std::string& flags,
                 Output output = Output::kObject);

  const ElfImage& image() const { return *image_; }
  CodeBytes Function(const std::string& name) const { return image_->Function(name); }

 private:
  std::optional<ElfImage> image_;
};

}  // namespace hotpatch::x86_64::testing
