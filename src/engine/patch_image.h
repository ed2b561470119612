// The patch image: a bundle's sections laid out for one placement and relocated for it, ready to be
// written into the target. Linking happens at apply time (design §4) because the placement is only
// chosen then; the layout itself does not depend on the addresses, so the engine can ask for the
// sizes first, find room of that size, and link for the room it found.
//
// Two areas: the code area (executable sections, then read-only data, then call stubs and GOT
// slots) is made R+X in the target; the data area (writable sections, NOBITS zero-filled) stays
// R+W. Read-only data shares the code area because it never needs a writable mapping and it keeps
// PC-relative references from code to constants short.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/remote_ptr.h"

namespace hotpatch {

// One ELF RELA entry of a patch section (Elf64_Rela, with r_info split).
struct ImageRelocation {
  uint64_t offset = 0;  // r_offset: the place, as an offset into the section
  uint32_t type = 0;    // ELF64_R_TYPE: R_X86_64_*
  uint32_t symbol = 0;  // ELF64_R_SYM, as an index into the ResolvedSymbol vector
  int64_t addend = 0;   // r_addend: A
};

// One allocated section of the patch (SHF_ALLOC sections only; the caller drops the rest).
struct ImageSection {
  std::string name;
  std::vector<uint8_t> bytes;  // file contents; empty for SHT_NOBITS
  uint64_t size = 0;           // sh_size; larger than bytes.size() for SHT_NOBITS (zero-filled)
  uint64_t alignment = 1;      // sh_addralign (0 and 1 both mean unaligned)
  bool executable = false;     // SHF_EXECINSTR
  bool writable = false;       // SHF_WRITE
  std::vector<ImageRelocation> relocations;
};

// A relocation's symbol, resolved by the bundle's generator or by the engine before linking.
struct ResolvedSymbol {
  enum Kind {
    kInImage,    // defined in the patch: `section` indexes the ImageSection vector, `value` is the
                 // offset inside it (for STT_SECTION symbols: 0)
    kAbsolute,   // `value` is the final address in the target (a function or variable of the
                 // target module, or of a library it loaded)
    kTargetTls,  // a thread-local of the target executable: `value` is its TP-relative offset in
                 // the static TLS block (negative: x86-64 uses TLS variant II, the block ends at
                 // the thread pointer)
  };
  Kind kind = kAbsolute;
  uint32_t section = 0;
  uint64_t value = 0;
  std::string name;  // for messages only
};

struct PatchImage {
  RemotePtr code_base;
  std::vector<uint8_t> code;  // executable sections, read-only data, call stubs, GOT slots
  RemotePtr data_base;
  std::vector<uint8_t> data;                 // writable sections, NOBITS zero-filled
  std::vector<RemotePtr> section_addresses;  // one per ImageSection, in input order
};

// Where every piece goes, as offsets from the area bases. Independent of the final addresses.
struct PatchLayout {
  struct Placement {
    bool in_code_area = false;
    uint64_t offset = 0;  // from code_base or data_base
  };
  std::vector<Placement> sections;  // one per ImageSection
  uint64_t got_offset = 0;          // GOT slots in the code area: [got_offset, stubs_offset)
  uint64_t stubs_offset = 0;  // call stubs: [stubs_offset, code_size). Each is one `jmp *slot`
                              // with no CFI: a thread stopped there unwinds like one at a
                              // function's first instruction (return address at the stack top).
  uint64_t code_size = 0;
  uint64_t code_alignment = 1;  // code_base must be a multiple of this
  uint64_t data_size = 0;
  uint64_t data_alignment = 1;  // data_base must be a multiple of this
};

// Throws Error(kUnsupported) for a relocation type or section this linker refuses, and
// Error(kBadBundle) for malformed input (symbol index out of range, place outside its section),
// so a bundle we cannot link is refused before any placement is chosen.
PatchLayout ComputePatchLayout(const std::vector<ImageSection>& sections,
                               const std::vector<ResolvedSymbol>& symbols);
size_t ComputeCodeSize(const std::vector<ImageSection>& sections,
                       const std::vector<ResolvedSymbol>& symbols);
size_t ComputeDataSize(const std::vector<ImageSection>& sections,
                       const std::vector<ResolvedSymbol>& symbols);

// Lays the sections out at `code_base` / `data_base` and applies every relocation. Throws
// Error(kUnsupported) when a relocated value does not fit its field for this placement (naming the
// symbol and the distance), and Error(kBadRequest) when a base is misaligned or the areas overlap.
PatchImage LinkPatchImage(const std::vector<ImageSection>& sections,
                          const std::vector<ResolvedSymbol>& symbols, RemotePtr code_base,
                          RemotePtr data_base);

}  // namespace hotpatch
