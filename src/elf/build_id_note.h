// Finding NT_GNU_BUILD_ID in a note area; shared by ElfFile and the header-only ElfIdentity.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace hotpatch::elf {

// The descriptor of the first GNU build-id note in `notes` (the contents of one SHT_NOTE section
// or PT_NOTE segment, aligned to `area_alignment`), or nullopt. Throws kBadRequest naming `path`
// and `where` if a note runs past the area.
std::optional<std::vector<uint8_t>> FindBuildIdNote(std::span<const uint8_t> notes,
                                                    uint64_t area_alignment,
                                                    const std::string& path,
                                                    const std::string& where);

// Lower-case hex of a build-id, "" for none.
std::string BuildIdHex(const std::optional<std::vector<uint8_t>>& build_id);

}  // namespace hotpatch::elf
