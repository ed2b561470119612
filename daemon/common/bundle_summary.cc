#include "common/bundle_summary.h"

#include "base/hex.h"
#include "bundle/bundle.h"
#include "bundle/checksum.h"
#include "bundle/signature.h"

namespace hotpatch {

proto::InfoResult SummarizeBundle(std::span<const uint8_t> bytes) {
  bundle::Bundle b = bundle::ReadBundle(bytes);
  proto::InfoResult info;
  info.patch_id = b.patch_id;
  info.description = b.description;
  info.format_version = b.format_version;
  info.target_module = b.target_module;
  info.target_build_id = HexDigits(b.target_build_id);
  info.placement = bundle::PlacementName(b.preferred_placement);
  info.created_unix = b.created_unix;
  info.checksum = bundle::ChecksumHex(bundle::StoredChecksum(bytes));
  info.signature = bundle::SignatureStateName(bundle::VerifySignature(bytes, {}));
  info.size = bytes.size();
  for (const auto& f : b.replaced) {
    const auto& replacement = b.symbols.at(f.replacement_symbol);
    info.replaced.push_back(
        {f.name, f.source_file, f.target_offset, f.target_size, replacement.size});
  }
  for (uint32_t index : b.new_functions) {
    const auto& symbol = b.symbols.at(index);
    info.added.push_back({symbol.name, symbol.size});
  }
  for (const auto& section : b.sections) {
    // Code is described by the function lists; what is left is the data the patch brings.
    if (section.flags & SHF_EXECINSTR) continue;
    info.data.push_back({section.name, section.size(), (section.flags & SHF_WRITE) != 0});
  }
  return info;
}

}  // namespace hotpatch
