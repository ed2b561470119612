// Which bytes of compiled code the static linker may still rewrite: the relocation fields, plus
// the opcode bytes of the instructions the linker is allowed to relax (psABI x86-64 §B.2: a
// GOTPCRELX load becomes a lea, a TLS general-dynamic sequence becomes local-exec). Code is
// compared with these bytes masked: between two objects, and between an object and the target
// the original object was linked into.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "elf/elf_file.h"

namespace hotpatch::patchgen {

// The relocations of object section `section_index`, sorted by offset.
std::vector<elf::Relocation> SectionRelocations(const elf::ElfFile& object, uint32_t section_index);

// `code` with every byte a relocation in `relocations` (offsets relative to `base`) or its
// allowed relaxation may change set to zero.
std::vector<uint8_t> MaskRelocatedBytes(std::span<const uint8_t> code,
                                        const std::vector<elf::Relocation>& relocations,
                                        uint64_t base = 0);

}  // namespace hotpatch::patchgen
