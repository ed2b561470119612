// NT_GNU_BUILD_ID: the identity a bundle is matched against.
#include <elf.h>

#include <cstring>

#include "base/hex.h"
#include "elf/build_id_note.h"
#include "elf/elf_error.h"
#include "elf/elf_file.h"

namespace hotpatch::elf {

namespace {

constexpr uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) & ~(alignment - 1);
}

}  // namespace

// gABI: each note is an Elf64_Nhdr, then the name and the descriptor, each starting at an offset
// aligned to the area's alignment — 4 for classic notes, 8 for areas aligned to 8
// (.note.gnu.property), where the 12-byte header plus "GNU\0" puts the descriptor at 16.
std::optional<std::vector<uint8_t>> FindBuildIdNote(std::span<const uint8_t> notes,
                                                    uint64_t area_alignment,
                                                    const std::string& path,
                                                    const std::string& where) {
  uint64_t alignment = area_alignment == 8 ? 8 : 4;
  uint64_t at = 0;
  while (notes.size() - at >= sizeof(Elf64_Nhdr)) {
    Elf64_Nhdr header;
    std::memcpy(&header, notes.data() + at, sizeof header);
    uint64_t name_at = at + sizeof header;
    uint64_t desc_at = AlignUp(name_at + header.n_namesz, alignment);
    uint64_t next = AlignUp(desc_at + header.n_descsz, alignment);
    // n_namesz and n_descsz are 32-bit, so these sums cannot overflow 64 bits; they may still
    // point past the area.
    if (desc_at + header.n_descsz > notes.size()) {
      throw MalformedElf(path, where + " note at " + std::to_string(at) +
                                   " n_namesz/n_descsz run past the note area");
    }
    if (header.n_type == NT_GNU_BUILD_ID && header.n_namesz == sizeof "GNU" &&
        std::memcmp(notes.data() + name_at, "GNU", sizeof "GNU") == 0) {
      auto desc = notes.subspan(desc_at, header.n_descsz);
      return std::vector<uint8_t>(desc.begin(), desc.end());
    }
    if (next >= notes.size()) break;
    at = next;
  }
  return std::nullopt;
}

void ElfFile::ReadBuildId() {
  // Sections first: a separate debug file keeps .note.gnu.build-id but its program headers still
  // describe the original file's offsets.
  for (const Section& section : sections_) {
    if (section.type != SHT_NOTE) continue;
    std::string where = "section [" + std::to_string(section.index) + "] '" + section.name + "'";
    build_id_ = FindBuildIdNote(SectionData(section), section.alignment, path_, where);
    if (build_id_) return;
  }
  // Program headers: the only source in a file whose section headers were stripped.
  for (const Segment& segment : segments_) {
    if (segment.type != PT_NOTE) continue;
    std::string where = "PT_NOTE at offset " + Hex(segment.offset);
    CheckInFile(segment.offset, segment.file_size, where + " p_offset/p_filesz");
    auto notes = std::span(bytes_).subspan(segment.offset, segment.file_size);
    build_id_ = FindBuildIdNote(notes, segment.alignment, path_, where);
    if (build_id_) return;
  }
}

std::string BuildIdHex(const std::optional<std::vector<uint8_t>>& build_id) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  if (!build_id) return text;
  for (uint8_t byte : *build_id) {
    text += kDigits[byte >> 4];
    text += kDigits[byte & 15];
  }
  return text;
}

std::string ElfFile::build_id_hex() const {
  return BuildIdHex(build_id_);
}

}  // namespace hotpatch::elf
