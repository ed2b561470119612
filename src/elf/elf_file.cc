#include "elf/elf_file.h"

#include <elf.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "base/error.h"
#include "base/hex.h"
#include "base/unique_fd.h"
#include "elf/elf_error.h"

namespace hotpatch::elf {

namespace {

// The kernel and ld.so map PT_LOAD segments at this granularity on x86-64, whatever p_align says.
constexpr uint64_t kPageSize = 4096;

struct ElfDeleter {
  void operator()(Elf* elf) const { elf_end(elf); }
};
using ElfHandle = std::unique_ptr<Elf, ElfDeleter>;

std::string SectionField(uint32_t index, std::string_view name, std::string_view field) {
  std::string text = "section [" + std::to_string(index) + "]";
  if (!name.empty()) text += " '" + std::string(name) + "'";
  return text + " " + std::string(field);
}

std::vector<uint8_t> ReadWholeFile(int fd, const std::string& path) {
  struct stat st;
  if (::fstat(fd, &st) != 0) throw ErrnoError("stat " + path);
  if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::kBadRequest, path + ": not a regular file");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  for (;;) {
    // The file may change size under us; read to end of file, not to st_size.
    if (done == bytes.size()) bytes.resize(bytes.size() + 4096);
    ssize_t n = ::pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ErrnoError("read " + path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace

ElfFile ElfFile::Open(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOENT || err == ENOTDIR) throw Error(ErrorCode::kNotFound, path + ": no such file");
    throw ErrnoError("open " + path, err);
  }
  return FromFd(fd.get(), path);
}

ElfFile ElfFile::FromFd(int fd, std::string display_name) {
  auto bytes = ReadWholeFile(fd, display_name);
  return ElfFile(std::move(bytes), std::move(display_name));
}

ElfFile ElfFile::FromBytes(std::vector<uint8_t> bytes, std::string display_name) {
  return ElfFile(std::move(bytes), std::move(display_name));
}

ElfFile::ElfFile(std::vector<uint8_t> bytes, std::string path)
    : path_(std::move(path)), bytes_(std::move(bytes)) {
  ReadHeaders();
  ReadSymbolTables();
  IndexSymbols();
  ReadBuildId();
}

void ElfFile::CheckInFile(uint64_t offset, uint64_t size, const std::string& field) const {
  if (offset > bytes_.size() || size > bytes_.size() - offset) {
    throw MalformedElf(path_, field + " (offset " + Hex(offset) + ", size " + Hex(size) +
                                  ") lies outside the file (size " + Hex(bytes_.size()) + ")");
  }
}

std::string_view ElfFile::StringAt(const Section& table, uint64_t offset,
                                   const std::string& field) const {
  if (table.type != SHT_STRTAB) {
    throw MalformedElf(path_, field + ": " + SectionField(table.index, "", "is not SHT_STRTAB"));
  }
  auto data = SectionData(table);
  if (offset >= data.size()) {
    throw MalformedElf(path_, field + " " + Hex(offset) + " is outside its string table " +
                                  SectionField(table.index, "", "(size " + Hex(data.size()) + ")"));
  }
  const char* begin = reinterpret_cast<const char*>(data.data()) + offset;
  const void* end = std::memchr(begin, '\0', data.size() - offset);
  if (end == nullptr) throw MalformedElf(path_, field + " " + Hex(offset) + " is not terminated");
  return std::string_view(begin, static_cast<const char*>(end) - begin);
}

void ElfFile::ReadHeaders() {
  // Check e_ident ourselves first: libelf would accept other classes and byte orders, which the
  // rest of the engine (x86-64 only) would then misread.
  if (bytes_.size() < sizeof(Elf64_Ehdr) || std::memcmp(bytes_.data(), ELFMAG, SELFMAG) != 0) {
    throw Error(ErrorCode::kBadRequest, path_ + ": not an ELF file");
  }
  if (bytes_[EI_CLASS] != ELFCLASS64 || bytes_[EI_DATA] != ELFDATA2LSB) {
    throw Error(ErrorCode::kUnsupported, path_ + ": not a 64-bit little-endian ELF file");
  }

  // libelf quietly reports zero sections or segments when a table does not fit in the image; a
  // truncated file would then parse as an empty one. Check the tables' extents first.
  Elf64_Ehdr raw;
  std::memcpy(&raw, bytes_.data(), sizeof raw);
  if (raw.e_phnum != 0) {
    if (raw.e_phentsize != sizeof(Elf64_Phdr)) {
      throw MalformedElf(path_, "e_phentsize " + std::to_string(raw.e_phentsize));
    }
    // PN_XNUM: the real count is in section header 0; at least that many entries must fit.
    CheckInFile(raw.e_phoff, uint64_t(raw.e_phnum) * sizeof(Elf64_Phdr), "program header table");
  }
  if (raw.e_shoff != 0) {
    if (raw.e_shentsize != sizeof(Elf64_Shdr)) {
      throw MalformedElf(path_, "e_shentsize " + std::to_string(raw.e_shentsize));
    }
    // e_shnum == 0 with e_shoff set: extended numbering, the count is in section header 0.
    CheckInFile(raw.e_shoff, std::max<uint64_t>(raw.e_shnum, 1) * sizeof(Elf64_Shdr),
                "section header table");
  } else if (raw.e_shnum != 0) {
    throw MalformedElf(path_, "e_shnum " + std::to_string(raw.e_shnum) + " without e_shoff");
  }

  static const bool libelf_ready = elf_version(EV_CURRENT) != EV_NONE;
  if (!libelf_ready) throw Error(ErrorCode::kInternal, "libelf: elf_version failed");
  ElfHandle elf(elf_memory(reinterpret_cast<char*>(bytes_.data()), bytes_.size()));
  if (!elf || elf_kind(elf.get()) != ELF_K_ELF) {
    throw MalformedElf(path_, std::string("libelf: ") + elf_errmsg(-1));
  }
  const Elf64_Ehdr* header = elf64_getehdr(elf.get());
  if (header == nullptr) throw MalformedElf(path_, std::string("ELF header: ") + elf_errmsg(-1));
  type_ = header->e_type;
  machine_ = header->e_machine;

  // Program headers.
  size_t segment_count = 0;
  if (elf_getphdrnum(elf.get(), &segment_count) != 0) {
    throw MalformedElf(path_, std::string("e_phnum: ") + elf_errmsg(-1));
  }
  if (raw.e_phnum != PN_XNUM && segment_count != raw.e_phnum) {
    throw MalformedElf(path_, "e_phnum " + std::to_string(raw.e_phnum) + ": libelf found " +
                                  std::to_string(segment_count) + " segments");
  }
  if (segment_count > 0) {
    CheckInFile(header->e_phoff, segment_count * sizeof(Elf64_Phdr), "program header table");
    const Elf64_Phdr* phdrs = elf64_getphdr(elf.get());
    if (phdrs == nullptr) throw MalformedElf(path_, std::string("e_phoff: ") + elf_errmsg(-1));
    segments_.reserve(segment_count);
    for (size_t i = 0; i < segment_count; ++i) {
      // libelf hands out pointers into the image when the host tolerates misalignment (x86), and
      // a malformed e_phoff need not be aligned: copy rather than dereference.
      Elf64_Phdr p;
      std::memcpy(&p, &phdrs[i], sizeof p);
      segments_.push_back(
          Segment{p.p_type, p.p_flags, p.p_offset, p.p_vaddr, p.p_filesz, p.p_memsz, p.p_align});
    }
  }

  // Section headers. elf_getshdrnum and elf_getshdrstrndx follow the extended numbering rules
  // (e_shnum == 0 / e_shstrndx == SHN_XINDEX: the real values live in section header 0).
  size_t section_count = 0;
  if (elf_getshdrnum(elf.get(), &section_count) != 0) {
    throw MalformedElf(path_, std::string("e_shnum: ") + elf_errmsg(-1));
  }
  if (raw.e_shnum != 0 && section_count != raw.e_shnum) {
    throw MalformedElf(path_, "e_shnum " + std::to_string(raw.e_shnum) + ": libelf found " +
                                  std::to_string(section_count) + " sections");
  }
  if (section_count == 0) return;
  CheckInFile(header->e_shoff, section_count * sizeof(Elf64_Shdr), "section header table");
  sections_.reserve(section_count);
  std::vector<uint32_t> name_offsets;
  name_offsets.reserve(section_count);
  for (size_t i = 0; i < section_count; ++i) {
    Elf_Scn* scn = elf_getscn(elf.get(), i);
    const Elf64_Shdr* header_in_image = scn ? elf64_getshdr(scn) : nullptr;
    if (header_in_image == nullptr) {
      throw MalformedElf(path_, SectionField(i, "", "header: ") + elf_errmsg(-1));
    }
    Elf64_Shdr s;  // copied: see the program headers above
    std::memcpy(&s, header_in_image, sizeof s);
    name_offsets.push_back(s.sh_name);
    Section section{static_cast<uint32_t>(i),
                    "",
                    s.sh_type,
                    s.sh_flags,
                    s.sh_addr,
                    s.sh_offset,
                    s.sh_size,
                    s.sh_addralign,
                    s.sh_entsize,
                    s.sh_link,
                    s.sh_info};
    if (section.type != SHT_NOBITS && section.type != SHT_NULL) {
      CheckInFile(section.offset, section.size, SectionField(i, "", "sh_offset/sh_size"));
    }
    if (section.link >= section_count) {
      throw MalformedElf(path_, SectionField(i, "", "sh_link " + std::to_string(section.link)) +
                                    " is not a section index");
    }
    sections_.push_back(std::move(section));
  }
  size_t names_index = 0;
  if (elf_getshdrstrndx(elf.get(), &names_index) != 0) {
    throw MalformedElf(path_, std::string("e_shstrndx: ") + elf_errmsg(-1));
  }
  if (names_index == SHN_UNDEF) return;  // allowed: sections without names
  if (names_index >= section_count) {
    throw MalformedElf(path_, "e_shstrndx " + std::to_string(names_index) + " >= section count " +
                                  std::to_string(section_count));
  }
  for (size_t i = 0; i < section_count; ++i) {
    sections_[i].name =
        StringAt(sections_[names_index], name_offsets[i], SectionField(i, "", "sh_name"));
  }
}

const Section* ElfFile::FindSection(std::string_view name) const {
  for (const Section& section : sections_) {
    if (section.name == name) return &section;
  }
  return nullptr;
}

std::span<const uint8_t> ElfFile::SectionData(const Section& section) const {
  if (section.type == SHT_NOBITS || section.type == SHT_NULL) return {};
  CheckInFile(section.offset, section.size,
              SectionField(section.index, section.name, "sh_offset/sh_size"));
  return std::span(bytes_).subspan(section.offset, section.size);
}

const Segment* ElfFile::tls_segment() const {
  for (const Segment& segment : segments_) {
    if (segment.type == PT_TLS) return &segment;
  }
  return nullptr;
}

uint64_t FirstLoadVaddr(std::span<const Segment> segments) {
  std::optional<uint64_t> lowest;
  for (const Segment& segment : segments) {
    if (segment.type == PT_LOAD && (!lowest || segment.vaddr < *lowest)) lowest = segment.vaddr;
  }
  return lowest ? *lowest & ~(kPageSize - 1) : 0;
}

std::optional<std::span<const uint8_t>> ElfFile::BytesAtAddress(uint64_t vaddr, size_t size) const {
  for (const Segment& segment : segments_) {
    if (segment.type != PT_LOAD || vaddr < segment.vaddr) continue;
    uint64_t into = vaddr - segment.vaddr;
    if (into > segment.file_size || size > segment.file_size - into) continue;
    // Untrusted p_offset/p_filesz: the backing bytes must lie within the file.
    if (segment.offset > bytes_.size() || into > bytes_.size() - segment.offset ||
        size > bytes_.size() - segment.offset - into) {
      throw MalformedElf(path_, "PT_LOAD segment at " + Hex(segment.vaddr) +
                                    " p_offset/p_filesz lie outside the file");
    }
    return std::span(bytes_).subspan(segment.offset + into, size);
  }
  return std::nullopt;
}

std::pair<uint64_t, uint64_t> ElfFile::text_range() const {
  const Section* text = FindSection(".text");
  if (text == nullptr) return {0, 0};
  return {text->address, text->address + text->size};
}

}  // namespace hotpatch::elf
