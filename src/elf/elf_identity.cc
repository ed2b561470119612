#include "elf/elf_identity.h"

#include <elf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "base/error.h"
#include "base/hex.h"
#include "elf/build_id_note.h"
#include "elf/elf_error.h"

namespace hotpatch::elf {

namespace {

// Notes are a few dozen bytes; a larger PT_NOTE in a loadable file is corrupt, and reading it
// would let a malformed file make us allocate without bound.
constexpr uint64_t kLargestNoteSegment = 1 << 20;

void ReadExactly(int fd, uint64_t offset, std::span<uint8_t> out, uint64_t file_size,
                 const std::string& path, const std::string& what) {
  if (offset > file_size || out.size() > file_size - offset) {
    throw MalformedElf(path, what + " (offset " + Hex(offset) + ", size " + Hex(out.size()) +
                                 ") lies outside the file (size " + Hex(file_size) + ")");
  }
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n =
        ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ErrnoError("read " + what + " of " + path);
    if (n == 0) throw MalformedElf(path, what + ": file shrank while reading");
    done += static_cast<size_t>(n);
  }
}

}  // namespace

std::string ElfIdentity::build_id_hex() const {
  return BuildIdHex(build_id);
}

ElfIdentity ReadElfIdentity(int fd, const std::string& display_name) {
  struct stat st;
  if (::fstat(fd, &st) != 0) throw ErrnoError("stat " + display_name);
  uint64_t file_size = static_cast<uint64_t>(st.st_size);

  Elf64_Ehdr header;
  if (file_size < sizeof header)
    throw Error(ErrorCode::kBadRequest, display_name + ": not an ELF file");
  ReadExactly(fd, 0, std::span(reinterpret_cast<uint8_t*>(&header), sizeof header), file_size,
              display_name, "ELF header");
  if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0) {
    throw Error(ErrorCode::kBadRequest, display_name + ": not an ELF file");
  }
  if (header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_ident[EI_DATA] != ELFDATA2LSB) {
    throw Error(ErrorCode::kUnsupported, display_name + ": not a 64-bit little-endian ELF file");
  }

  ElfIdentity identity;
  identity.type = header.e_type;
  identity.machine = header.e_machine;
  uint64_t segment_count = header.e_phnum;
  if (segment_count == PN_XNUM) {
    // gABI extended numbering: the real count is sh_info of section header 0.
    Elf64_Shdr first;
    ReadExactly(fd, header.e_shoff, std::span(reinterpret_cast<uint8_t*>(&first), sizeof first),
                file_size, display_name, "section header 0 (e_phnum is PN_XNUM)");
    segment_count = first.sh_info;
  }
  if (segment_count > 0 && header.e_phentsize != sizeof(Elf64_Phdr)) {
    throw MalformedElf(display_name, "e_phentsize " + std::to_string(header.e_phentsize));
  }
  // Checked before allocating: with PN_XNUM the count is a 32-bit field of the file, and a table
  // of 2^32 entries would be a 240 GB vector (found by fuzz_elf_file).
  if (header.e_phoff > file_size ||
      segment_count > (file_size - header.e_phoff) / sizeof(Elf64_Phdr)) {
    throw MalformedElf(display_name, "program header table (" + std::to_string(segment_count) +
                                         " entries at offset " + Hex(header.e_phoff) +
                                         ") lies outside the file (size " + Hex(file_size) + ")");
  }
  std::vector<Elf64_Phdr> phdrs(segment_count);
  ReadExactly(
      fd, header.e_phoff,
      std::span(reinterpret_cast<uint8_t*>(phdrs.data()), phdrs.size() * sizeof(Elf64_Phdr)),
      file_size, display_name, "program header table");
  for (const Elf64_Phdr& p : phdrs) {
    identity.segments.push_back(
        Segment{p.p_type, p.p_flags, p.p_offset, p.p_vaddr, p.p_filesz, p.p_memsz, p.p_align});
  }

  for (const Segment& segment : identity.segments) {
    if (segment.type != PT_NOTE) continue;
    std::string where = "PT_NOTE at offset " + Hex(segment.offset);
    if (segment.file_size > kLargestNoteSegment) {
      throw MalformedElf(display_name, where + " p_filesz " + Hex(segment.file_size));
    }
    std::vector<uint8_t> notes(segment.file_size);
    ReadExactly(fd, segment.offset, notes, file_size, display_name, where);
    identity.build_id = FindBuildIdNote(notes, segment.alignment, display_name, where);
    if (identity.build_id) break;
  }
  return identity;
}

}  // namespace hotpatch::elf
