#include "relocation_fields.h"

#include <elf.h>

#include <algorithm>

#include "bundle/relocation_types.h"

namespace hotpatch::patchgen {
namespace {

struct MaskedRange {
  int64_t before = 0;  // bytes before r_offset
  int64_t after = 0;   // bytes from r_offset on
};

MaskedRange RelocationMask(uint32_t type) {
  switch (type) {
    // mov foo@GOTPCREL(%rip) -> lea foo(%rip); call *foo@GOTPCREL(%rip) -> addr32 call foo: the
    // linker rewrites the REX prefix, opcode and ModRM before the field.
    case R_X86_64_GOTPCRELX:
    case R_X86_64_REX_GOTPCRELX:
    case R_X86_64_GOTTPOFF:
      return {3, 4};
    // The general/local-dynamic TLS sequences (lea + call __tls_get_addr) become whole other
    // instruction sequences under relaxation: 16 and 12 bytes in the psABI's code models.
    case R_X86_64_TLSGD:
      return {4, 12};
    case R_X86_64_TLSLD:
      return {3, 9};
    default: {
      const auto width = bundle::RelocationFieldSize(type);
      return {0, static_cast<int64_t>(width.value_or(0))};
    }
  }
}

}  // namespace

std::vector<elf::Relocation> SectionRelocations(const elf::ElfFile& object,
                                                uint32_t section_index) {
  std::vector<elf::Relocation> relocations;
  for (const elf::Section& rela : object.sections()) {
    if (rela.type != SHT_RELA || rela.info != section_index) continue;
    for (const elf::Relocation& relocation : object.Relocations(rela)) {
      relocations.push_back(relocation);
    }
  }
  std::sort(relocations.begin(), relocations.end(),
            [](const elf::Relocation& a, const elf::Relocation& b) { return a.offset < b.offset; });
  return relocations;
}

std::vector<uint8_t> MaskRelocatedBytes(std::span<const uint8_t> code,
                                        const std::vector<elf::Relocation>& relocations,
                                        uint64_t base) {
  std::vector<uint8_t> masked(code.begin(), code.end());
  const int64_t size = static_cast<int64_t>(masked.size());
  for (const elf::Relocation& relocation : relocations) {
    const MaskedRange range = RelocationMask(relocation.type);
    const int64_t at = static_cast<int64_t>(relocation.offset - base);
    for (int64_t i = at - range.before; i < at + range.after; ++i) {
      if (i >= 0 && i < size) masked[static_cast<size_t>(i)] = 0;
    }
  }
  return masked;
}

}  // namespace hotpatch::patchgen
