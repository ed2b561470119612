#include "bundle/relocation_types.h"

#include <elf.h>

namespace hotpatch::bundle {

std::optional<uint32_t> RelocationFieldSize(uint32_t type) {
  switch (type) {
    case R_X86_64_8:
    case R_X86_64_PC8:
      return 1;
    case R_X86_64_16:
    case R_X86_64_PC16:
      return 2;
    case R_X86_64_PC32:
    case R_X86_64_GOT32:
    case R_X86_64_PLT32:
    case R_X86_64_GOTPCREL:
    case R_X86_64_32:
    case R_X86_64_32S:
    case R_X86_64_TLSGD:
    case R_X86_64_TLSLD:
    case R_X86_64_DTPOFF32:
    case R_X86_64_GOTTPOFF:
    case R_X86_64_TPOFF32:
    case R_X86_64_GOTPC32:
    case R_X86_64_SIZE32:
    case R_X86_64_GOTPC32_TLSDESC:
    case R_X86_64_GOTPCRELX:
    case R_X86_64_REX_GOTPCRELX:
      return 4;
    case R_X86_64_64:
    case R_X86_64_DTPOFF64:
    case R_X86_64_TPOFF64:
    case R_X86_64_PC64:
    case R_X86_64_GOTOFF64:
    case R_X86_64_SIZE64:
      return 8;
    // A marker on the call through a TLS descriptor: it patches nothing by itself.
    case R_X86_64_TLSDESC_CALL:
      return 0;
    default:
      return std::nullopt;
  }
}

}  // namespace hotpatch::bundle
