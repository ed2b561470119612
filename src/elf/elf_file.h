// One ELF file (executable, shared library, relocatable object, vDSO image), read whole into
// memory once and parsed eagerly into plain structs.
//
// The files come from targets, bundles and users, so they are untrusted: every offset, size and
// index is checked against the bytes we own before use, and a violation throws hotpatch::Error
// (kBadRequest) naming the file and the field. Nothing here may crash or read out of bounds on
// malformed input; tests/unit/elf truncates and corrupts real files to hold us to that.
//
// Only ELFCLASS64 little-endian files are accepted: the engine patches x86-64 processes only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hotpatch::elf {

// An entry of the section header table (Elf64_Shdr) with its name resolved.
struct Section {
  uint32_t index = 0;
  std::string name;
  uint32_t type = 0;  // SHT_*
  uint64_t flags = 0, address = 0, offset = 0, size = 0, alignment = 0, entry_size = 0;
  uint32_t link = 0, info = 0;
};

// An entry of the program header table (Elf64_Phdr).
struct Segment {
  uint32_t type = 0, flags = 0;  // PT_*, PF_*
  uint64_t offset = 0, vaddr = 0, file_size = 0, memory_size = 0, alignment = 0;
};

// The lowest PT_LOAD p_vaddr rounded down to the page: the kernel and ld.so map segments at
// page granularity (ELF_PAGESTART), so the lowest mapping of a loaded file starts at load bias +
// this. 0 without PT_LOAD.
uint64_t FirstLoadVaddr(std::span<const Segment> segments);

// An entry of .symtab or .dynsym (Elf64_Sym) with its name resolved.
struct Symbol {
  uint32_t index = 0;  // position in its table (what relocations name)
  std::string name;
  uint64_t value = 0, size = 0;
  uint8_t type = 0, binding = 0, visibility = 0;  // STT_*, STB_*, STV_*
  // Raw st_shndx: SHN_UNDEF, SHN_ABS, SHN_COMMON, or a section index. SHN_XINDEX (more than
  // 65279 sections) is kept as is; extended indices are not resolved.
  uint16_t section_index = 0;
  // For STB_LOCAL symbols of .symtab: the name of the preceding STT_FILE symbol. The linker keeps
  // each input file's locals after that file's STT_FILE entry, which is the only way to tell two
  // `static int helper()` of different source files apart. Empty for global symbols.
  std::string source_file;
  bool dynamic = false;  // from .dynsym
};

// An entry of a SHT_RELA section (Elf64_Rela) with r_info split.
struct Relocation {
  uint64_t offset = 0;  // r_offset
  uint32_t type = 0;    // R_X86_64_*
  uint32_t symbol_index = 0;
  int64_t addend = 0;
};

class ElfFile {
 public:
  // Reads and parses the whole file. Throws kNotFound (no such file), kPermissionDenied, or
  // kBadRequest (not an ELF file, malformed), each naming the path.
  static ElfFile Open(const std::string& path);
  // Reads the whole regular file behind an open descriptor (e.g. a /proc/PID/map_files entry,
  // which may be unlinked); `display_name` names it in errors and path().
  static ElfFile FromFd(int fd, std::string display_name);
  // Parses an image already in memory (e.g. the vDSO read from a target). `display_name` stands
  // for the path in errors and path().
  static ElfFile FromBytes(std::vector<uint8_t> bytes, std::string display_name);

  ElfFile(ElfFile&&) noexcept = default;
  ElfFile& operator=(ElfFile&&) noexcept = default;
  ElfFile(const ElfFile&) = delete;
  ElfFile& operator=(const ElfFile&) = delete;

  const std::string& path() const { return path_; }
  uint16_t type() const { return type_; }        // ET_*
  uint16_t machine() const { return machine_; }  // EM_*
  std::span<const uint8_t> bytes() const { return bytes_; }

  const std::vector<Section>& sections() const { return sections_; }
  // The first section with that name, or null.
  const Section* FindSection(std::string_view name) const;
  // The section's bytes in the file; empty for SHT_NOBITS. Throws if the section does not lie
  // within the file (only possible for a Section not obtained from this file).
  std::span<const uint8_t> SectionData(const Section& section) const;

  const std::vector<Segment>& segments() const { return segments_; }
  // PT_TLS or null.
  const Segment* tls_segment() const;
  // FirstLoadVaddr(segments()).
  uint64_t first_load_vaddr() const { return FirstLoadVaddr(segments_); }
  // The file bytes backing [vaddr, vaddr + size) through one PT_LOAD segment; nullopt if the range
  // is not wholly inside one segment's file part (e.g. .bss).
  std::optional<std::span<const uint8_t>> BytesAtAddress(uint64_t vaddr, size_t size) const;
  // [begin, end) of .text; {0, 0} without one.
  std::pair<uint64_t, uint64_t> text_range() const;

  const std::vector<Symbol>& symbols() const { return symbols_; }                  // .symtab
  const std::vector<Symbol>& dynamic_symbols() const { return dynamic_symbols_; }  // .dynsym
  // Every symbol with that name, .symtab entries first, each table in index order.
  std::vector<const Symbol*> FindSymbols(std::string_view name) const;
  // The defined STT_FUNC symbol with value <= vaddr < value + size (the innermost one, .symtab
  // preferred over .dynsym), or null.
  const Symbol* FunctionContaining(uint64_t vaddr) const;

  // The entries of a SHT_RELA section of this file. Throws kBadRequest for another section type,
  // a bad entry size, or a symbol index outside the linked symbol table; kUnsupported for SHT_REL
  // (x86-64 uses RELA only).
  std::vector<Relocation> Relocations(const Section& rela_section) const;

  // NT_GNU_BUILD_ID descriptor from a SHT_NOTE section, else from a PT_NOTE segment.
  const std::optional<std::vector<uint8_t>>& build_id() const { return build_id_; }
  // Lower-case hex of build_id(), "" if none.
  std::string build_id_hex() const;

 private:
  ElfFile(std::vector<uint8_t> bytes, std::string path);

  void ReadHeaders();
  void ReadSymbolTables();
  std::vector<Symbol> ReadSymbolTable(const Section& table, bool dynamic) const;
  void IndexSymbols();
  void ReadBuildId();
  // Checks [offset, offset + size) lies within the file; throws naming `field`.
  void CheckInFile(uint64_t offset, uint64_t size, const std::string& field) const;
  // The NUL-terminated string at `offset` of a string table section.
  std::string_view StringAt(const Section& table, uint64_t offset, const std::string& field) const;

  std::string path_;
  std::vector<uint8_t> bytes_;
  uint16_t type_ = 0;
  uint16_t machine_ = 0;
  std::vector<Section> sections_;
  std::vector<Segment> segments_;
  std::vector<Symbol> symbols_;
  std::vector<Symbol> dynamic_symbols_;
  // Pointers into symbols_ / dynamic_symbols_ (stable: the vectors are filled once and a move of
  // a vector keeps its heap buffer).
  std::vector<const Symbol*> symbols_by_name_;
  std::vector<const Symbol*> functions_by_address_;
  uint64_t largest_function_size_ = 0;
  std::optional<std::vector<uint8_t>> build_id_;
};

}  // namespace hotpatch::elf
