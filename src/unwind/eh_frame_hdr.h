// The .eh_frame_hdr section (LSB "Linux Standard Base Core Specification", section "The
// .eh_frame_hdr section"): a header followed by a table of (initial location, FDE address) pairs
// sorted by initial location, which lets an unwinder binary-search the FDE for a pc.
//
// We read it from the tracee's memory, never from the file: the vDSO has no file, and a file on
// disk may since have been replaced by a newer build.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/remote_ptr.h"
#include "unwind/stop_memory_cache.h"

namespace hotpatch::unwind {

// DWARF pointer encodings (DW_EH_PE_*, LSB "DWARF Exception Header Encoding"): the low four bits
// give the format, the next three how the value applies (pcrel: relative to the field's own
// address; datarel: to the .eh_frame_hdr section), 0x80 an indirection.
enum : uint8_t {
  kDwEhPeAbsptr = 0x00,
  kDwEhPeUleb128 = 0x01,
  kDwEhPeUdata2 = 0x02,
  kDwEhPeUdata4 = 0x03,
  kDwEhPeUdata8 = 0x04,
  kDwEhPeSdata2 = 0x0a,
  kDwEhPeSdata4 = 0x0b,
  kDwEhPeSleb128 = 0x09,
  kDwEhPeSdata8 = 0x0c,
  kDwEhPePcrel = 0x10,
  kDwEhPeDatarel = 0x30,
  kDwEhPeIndirect = 0x80,
  kDwEhPeOmit = 0xff,
};

// Size in bytes of a fixed-size value in `encoding` (its low four bits); 0 for the LEB128 formats
// and unknown ones.
inline size_t EncodedSize(uint8_t encoding) {
  switch (encoding & 0x0f) {
    case kDwEhPeAbsptr:
      return 8;
    case kDwEhPeUdata2:
    case kDwEhPeSdata2:
      return 2;
    case kDwEhPeUdata4:
    case kDwEhPeSdata4:
      return 4;
    case kDwEhPeUdata8:
    case kDwEhPeSdata8:
      return 8;
  }
  return 0;
}

// The fixed start of the section, as laid out in memory.
struct EhFrameHdrHeader {
  uint8_t version;           // 1
  uint8_t eh_frame_ptr_enc;  // encoding of the following .eh_frame pointer
  uint8_t fde_count_enc;     // encoding of the FDE count, DW_EH_PE_omit when there is no table
  uint8_t table_enc;         // encoding of the table entries
};
static_assert(sizeof(EhFrameHdrHeader) == 4);

// Where the binary-search table of one module is, in the form libunwind's
// UNW_INFO_FORMAT_REMOTE_TABLE wants: entries are two int32 offsets from the section start.
struct EhFrameSearchTable {
  RemotePtr section;  // the .eh_frame_hdr itself: the "datarel" base of every entry
  RemotePtr entries;
  uint64_t fde_count = 0;
};

// Reads and checks the header at `section`. Returns false with `problem` set when the section is
// unreadable or its table cannot be binary-searched (libunwind only searches tables encoded
// DW_EH_PE_datarel | DW_EH_PE_sdata4, which is what GNU ld and lld write).
bool ReadEhFrameSearchTable(StopMemoryCache& memory, RemotePtr section, EhFrameSearchTable* table,
                            std::string* problem);

}  // namespace hotpatch::unwind
