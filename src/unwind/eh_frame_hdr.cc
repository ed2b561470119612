#include "unwind/eh_frame_hdr.h"

#include "base/hex.h"

namespace hotpatch::unwind {

bool ReadEhFrameSearchTable(StopMemoryCache& memory, RemotePtr section, EhFrameSearchTable* table,
                            std::string* problem) {
  EhFrameHdrHeader header;
  if (!memory.TryReadBytes(section, &header, sizeof header)) {
    *problem = ".eh_frame_hdr at " + section.ToString() + " is not readable";
    return false;
  }
  if (header.version != 1) {
    *problem = ".eh_frame_hdr at " + section.ToString() + " has version " +
               std::to_string(header.version) + ", expected 1";
    return false;
  }
  if (header.fde_count_enc == kDwEhPeOmit || header.table_enc != (kDwEhPeDatarel | kDwEhPeSdata4)) {
    *problem = ".eh_frame_hdr at " + section.ToString() + " has no binary-search table (table " +
               "encoding " + Hex(header.table_enc) + ")";
    return false;
  }
  size_t pointer_size = EncodedSize(header.eh_frame_ptr_enc);
  size_t count_size = EncodedSize(header.fde_count_enc);
  if (pointer_size == 0 || count_size == 0) {
    *problem = ".eh_frame_hdr at " + section.ToString() + " uses an unknown pointer encoding";
    return false;
  }
  RemotePtr count_at = section + sizeof header + pointer_size;
  uint64_t count = 0;  // little-endian: the low bytes of a uint64_t hold any narrower value
  if (!memory.TryReadBytes(count_at, &count, count_size)) {
    *problem = ".eh_frame_hdr at " + section.ToString() + " is truncated";
    return false;
  }
  table->section = section;
  table->entries = count_at + count_size;
  table->fde_count = count;
  return true;
}

}  // namespace hotpatch::unwind
