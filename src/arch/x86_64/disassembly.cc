#include "arch/x86_64/disassembly.h"

#include <Zydis/Zydis.h>

#include "base/hex.h"

namespace hotpatch::x86_64 {
namespace {

// Wide enough for the bytes of most instructions; longer ones just push the text right.
constexpr size_t kBytesColumnWidth = 3 * 8;

void AppendLine(std::string& listing, RemotePtr at, std::span<const uint8_t> bytes,
                const char* text) {
  std::string hex = HexBytes(bytes);
  listing += at.ToString() + ": " + hex;
  listing.append(hex.size() < kBytesColumnWidth ? kBytesColumnWidth - hex.size() : 1, ' ');
  listing += text;
  listing += '\n';
}

}  // namespace

std::string Disassemble(std::span<const uint8_t> code, RemotePtr address, size_t max_instructions) {
  ZydisDecoder decoder;
  ZydisDecoderInit(&decoder, ZYDIS_MACHINE_MODE_LONG_64, ZYDIS_STACK_WIDTH_64);
  ZydisFormatter formatter;
  // AT&T, because that is what objdump and gdb show by default on Linux.
  ZydisFormatterInit(&formatter, ZYDIS_FORMATTER_STYLE_ATT);

  std::string listing;
  size_t offset = 0;
  for (size_t count = 0; offset < code.size() && count < max_instructions; ++count) {
    RemotePtr at = address + int64_t(offset);
    ZydisDecodedInstruction insn;
    ZydisDecodedOperand operands[ZYDIS_MAX_OPERAND_COUNT];
    char text[256];
    if (ZYAN_SUCCESS(ZydisDecoderDecodeFull(&decoder, code.data() + offset, code.size() - offset,
                                            &insn, operands)) &&
        ZYAN_SUCCESS(ZydisFormatterFormatInstruction(&formatter, &insn, operands,
                                                     insn.operand_count_visible, text, sizeof text,
                                                     at.value(), nullptr))) {
      AppendLine(listing, at, code.subspan(offset, insn.length), text);
      offset += insn.length;
    } else {
      AppendLine(listing, at, code.subspan(offset, 1), "(bad)");
      offset += 1;
    }
  }
  if (offset < code.size()) {
    listing += "... (" + std::to_string(code.size() - offset) + " more bytes)\n";
  }
  return listing;
}

}  // namespace hotpatch::x86_64
