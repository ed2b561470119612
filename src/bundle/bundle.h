// The in-memory model of a patch bundle (docs/bundle-format.md) and its conversion to and from the
// on-disk file, an ELF64 ET_REL object that readelf and objdump read like any compiler output.
//
// A bundle is untrusted input: ReadBundle checks every offset, size, count, index, alignment and
// string of the file and refuses anything it does not understand with ErrorCode::kBadBundle,
// naming the field. It never reads outside the span it is given.
#pragma once

#include <elf.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace hotpatch::bundle {

// The format this code writes and the only one it reads.
inline constexpr uint32_t kFormatVersion = 1;

// Where the engine should put the patch code by default (design §5); the caller may override it.
enum class Placement : uint32_t { kAuto, kReserved, kDeadCode, kMapping };

enum class SymbolKind : uint8_t {
  kDefined,   // defined in one of the bundle's sections
  kTarget,    // a symbol of the target module, at `value` bytes from the module's load bias
  kExternal,  // resolved by name at apply time in the target's loaded libraries (e.g. fprintf)
};

// One x86-64 RELA relocation against a bundle section; the engine applies it at apply time, once
// the section's final address is known.
struct BundleRelocation {
  uint64_t offset = 0;  // in the section
  uint32_t type = 0;    // R_X86_64_*
  uint32_t symbol = 0;  // index into Bundle::symbols
  int64_t addend = 0;
  bool operator==(const BundleRelocation&) const = default;
};

struct BundleSection {
  std::string name;
  uint32_t type = 0;           // SHT_PROGBITS or SHT_NOBITS
  uint64_t flags = 0;          // SHF_ALLOC, optionally SHF_WRITE and SHF_EXECINSTR
  uint64_t alignment = 1;      // a power of two, at most kMaxSectionAlignment
  std::vector<uint8_t> bytes;  // SHT_PROGBITS contents
  uint64_t nobits_size = 0;    // SHT_NOBITS size
  std::vector<BundleRelocation> relocations;
  uint64_t size() const { return type == SHT_NOBITS ? nobits_size : bytes.size(); }
  bool operator==(const BundleSection&) const = default;
};

// Larger alignments would make the file (and any placement) pad by more than a page for nothing.
inline constexpr uint64_t kMaxSectionAlignment = 4096;

struct BundleSymbol {
  std::string name;
  SymbolKind kind = SymbolKind::kDefined;
  uint8_t type = 0;      // STT_NOTYPE, STT_OBJECT, STT_FUNC, STT_SECTION or STT_TLS
  uint8_t binding = 0;   // STB_LOCAL, STB_GLOBAL or STB_WEAK; locals come first (ELF gABI)
  uint32_t section = 0;  // kDefined: index into Bundle::sections
  uint64_t value = 0;    // kDefined: offset in section; kTarget: offset from the load bias
  uint64_t size = 0;
  bool thread_local_symbol = false;  // STT_TLS: value is the offset in the target's TLS block
  bool operator==(const BundleSymbol&) const = default;
};

struct ReplacedFunction {
  std::string name;
  std::string source_file;     // disambiguates local functions; may be empty for global ones
  uint64_t target_offset = 0;  // from the target module's load bias
  uint64_t target_size = 0;
  std::array<uint8_t, 32> expected_sha256{};  // of the original bytes in the target module
  uint32_t replacement_symbol = 0;            // a kDefined STT_FUNC symbol in the bundle
  bool operator==(const ReplacedFunction&) const = default;
};

// Build-ids are 20 bytes (SHA-1) in practice; the header has room for this many.
inline constexpr size_t kMaxBuildIdSize = 64;

struct Bundle {
  uint32_t format_version = kFormatVersion;
  std::string patch_id;  // [A-Za-z0-9._+-]{1,128}: it appears in /proc/PID/maps names
  std::string description;
  std::string target_module;  // file name, e.g. "minivmx"
  std::vector<uint8_t> target_build_id;
  Placement preferred_placement = Placement::kAuto;
  uint64_t created_unix = 0;
  std::vector<BundleSection> sections;
  std::vector<BundleSymbol> symbols;
  std::vector<ReplacedFunction> replaced;
  std::vector<uint32_t> new_functions;  // indices into symbols: kDefined STT_FUNC symbols
  bool operator==(const Bundle&) const = default;
};

// The bytes of an unsigned bundle file, checksum filled in. Deterministic: the same Bundle always
// gives the same bytes. Throws Error(kBadBundle) if the model breaks a rule of ValidateBundle.
std::vector<uint8_t> WriteBundle(const Bundle& bundle);

// Parses and validates a bundle file, checksum included (not the signature: VerifySignature, in
// bundle/signature.h, needs the trusted keys). Throws Error(kBadBundle) naming the bad field.
Bundle ReadBundle(std::span<const uint8_t> bytes);

// Checks the rules of the model that do not depend on the file layout: indices in range, symbol
// kinds consistent, relocations inside their section, replaced ranges disjoint, ... Throws
// Error(kBadBundle). Messages number sections and symbols as readelf does (ELF index = model
// index + 1, index 0 being the null entry).
void ValidateBundle(const Bundle& bundle);

const char* PlacementName(Placement placement);  // "auto", "reserved", "dead", "mapping"

}  // namespace hotpatch::bundle
