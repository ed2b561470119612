// What identifies a loaded ELF file and places it in memory — type, program headers, build-id —
// read with a few small preads instead of the whole file. ReadModules needs this for every
// mapped file (a process maps dozens, some of them hundreds of MB); the full ElfFile is opened
// only for the module being patched.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "elf/elf_file.h"

namespace hotpatch::elf {

struct ElfIdentity {
  uint16_t type = 0;     // ET_*
  uint16_t machine = 0;  // EM_*
  std::vector<Segment> segments;
  // From PT_NOTE only: the linker puts .note.gnu.build-id in an allocated, PT_NOTE-covered
  // section, so a loadable file that has one shows it there.
  std::optional<std::vector<uint8_t>> build_id;

  std::string build_id_hex() const;
  uint64_t first_load_vaddr() const { return FirstLoadVaddr(segments); }
};

// Reads the ELF header, the program header table and the PT_NOTE segments of the file open at
// `fd`. Throws kBadRequest naming `display_name` for a file that is not a 64-bit little-endian
// ELF file or whose headers do not fit in it; errno-derived codes for read failures.
ElfIdentity ReadElfIdentity(int fd, const std::string& display_name);

}  // namespace hotpatch::elf
