// The private .hotpatch.* sections of a bundle, byte for byte (docs/bundle-format.md). Each struct
// mirrors the little-endian bytes of one record: fields are laid out so that there is no padding
// (checked below), and records are copied in and out with memcpy, never cast in place, because a
// bundle's bytes come with no alignment guarantee.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <type_traits>

namespace hotpatch::bundle {

static_assert(std::endian::native == std::endian::little,
              "bundle records are little-endian and copied as-is (x86-64 only)");

inline constexpr std::string_view kHeaderSection = ".hotpatch.header";
inline constexpr std::string_view kFunctionsSection = ".hotpatch.functions";
inline constexpr std::string_view kNewFunctionsSection = ".hotpatch.new_functions";
inline constexpr std::string_view kSymbolsSection = ".hotpatch.symbols";
inline constexpr std::string_view kStringsSection = ".hotpatch.strings";
inline constexpr std::string_view kChecksumSection = ".hotpatch.checksum";
inline constexpr std::string_view kSignatureSection = ".hotpatch.signature";
inline constexpr std::string_view kPrivateSectionPrefix = ".hotpatch.";

// "HOTPATCH" without terminator.
inline constexpr char kHeaderMagic[8] = {'H', 'O', 'T', 'P', 'A', 'T', 'C', 'H'};

// .hotpatch.header: exactly one record. String fields are offsets into .hotpatch.strings.
struct HeaderRecord {
  char magic[8];
  uint32_t format_version;
  uint32_t header_size;  // sizeof(HeaderRecord) for version 1
  uint32_t patch_id;
  uint32_t description;
  uint32_t target_module;
  uint32_t preferred_placement;  // Placement
  uint32_t function_count;       // records in .hotpatch.functions
  uint32_t new_function_count;   // entries in .hotpatch.new_functions
  uint32_t symbol_count;         // entries in .symtab (the null entry included)
  uint32_t build_id_size;        // bytes of build_id used; the rest are zero
  uint8_t build_id[64];
  uint64_t created_unix;
};
static_assert(sizeof(HeaderRecord) == 120);
static_assert(offsetof(HeaderRecord, build_id) == 48);
static_assert(offsetof(HeaderRecord, created_unix) == 112);
static_assert(std::has_unique_object_representations_v<HeaderRecord>, "no padding");

// .hotpatch.functions: one record per replaced function.
struct FunctionRecord {
  uint32_t name;                // offset into .hotpatch.strings
  uint32_t source_file;         // offset into .hotpatch.strings
  uint32_t replacement_symbol;  // .symtab index
  uint32_t reserved;            // zero
  uint64_t target_offset;
  uint64_t target_size;
  uint8_t expected_sha256[32];
};
static_assert(sizeof(FunctionRecord) == 64);
static_assert(offsetof(FunctionRecord, expected_sha256) == 32);
static_assert(std::has_unique_object_representations_v<FunctionRecord>, "no padding");

// .hotpatch.new_functions: one uint32_t .symtab index per new function.
using NewFunctionRecord = uint32_t;

// .hotpatch.symbols: one record per .symtab entry, in the same order (entry 0 all zero). Says what
// an undefined ELF symbol stands for: the target module (at an offset) or an external library.
struct SymbolRecord {
  uint8_t kind;            // SymbolKind
  uint8_t reserved[7];     // zero
  uint64_t target_offset;  // kTarget: offset from the target module's load bias; otherwise zero
};
static_assert(sizeof(SymbolRecord) == 16);
static_assert(std::has_unique_object_representations_v<SymbolRecord>, "no padding");

// .hotpatch.checksum: SHA-256 of the file with the contents of this section and of
// .hotpatch.signature read as zeros.
inline constexpr size_t kChecksumSize = 32;

// .hotpatch.signature (optional): Ed25519 detached signature of the checksum, and the key it
// verifies with (so that an unknown key is told apart from a broken signature).
struct SignatureRecord {
  uint8_t public_key[32];
  uint8_t signature[64];
};
static_assert(sizeof(SignatureRecord) == 96);
static_assert(std::has_unique_object_representations_v<SignatureRecord>, "no padding");

}  // namespace hotpatch::bundle
