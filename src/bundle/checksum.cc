#include "bundle/checksum.h"

#include <sodium.h>

#include <algorithm>
#include <vector>

#include "base/hex.h"
#include "bundle/bounded_bytes.h"
#include "bundle/on_disk_records.h"
#include "bundle/section_table.h"
#include "bundle/sodium_init.h"

namespace hotpatch::bundle {
namespace {

const SectionEntry& ChecksumSection(const SectionTable& table) {
  const SectionEntry& checksum = table.Get(kChecksumSection);
  if (checksum.header.sh_type != SHT_PROGBITS || checksum.header.sh_size != kChecksumSize) {
    throw BadBundle(std::string(kChecksumSection) + ": not SHT_PROGBITS of " +
                    std::to_string(kChecksumSize) + " bytes");
  }
  return checksum;
}

}  // namespace

Checksum BundleChecksum(std::span<const uint8_t> bytes) {
  InitialiseSodium();
  const SectionTable table(bytes);
  struct ZeroedRange {
    uint64_t begin;
    uint64_t end;
  };
  std::vector<ZeroedRange> zeroed;
  const SectionEntry& checksum = ChecksumSection(table);
  zeroed.push_back({checksum.header.sh_offset, checksum.header.sh_offset + kChecksumSize});
  if (const SectionEntry* signature = table.Find(kSignatureSection)) {
    if (signature->header.sh_type != SHT_PROGBITS) {
      throw BadBundle(std::string(kSignatureSection) + ": not SHT_PROGBITS");
    }
    zeroed.push_back(
        {signature->header.sh_offset, signature->header.sh_offset + signature->contents.size()});
  }
  // SectionTable checked that contents lie in the file and do not overlap.
  std::sort(zeroed.begin(), zeroed.end(),
            [](const ZeroedRange& a, const ZeroedRange& b) { return a.begin < b.begin; });

  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  static const uint8_t kZeros[256] = {};
  uint64_t position = 0;
  for (const ZeroedRange& range : zeroed) {
    // An empty section may sit inside another's range (SectionTable allows zero-size overlaps);
    // found by fuzzing: range.begin - position wrapped and the hash read far past the bundle.
    if (range.begin < position || range.end > bytes.size())
      throw BadBundle("checksum and signature sections overlap or lie outside the file");
    crypto_hash_sha256_update(&state, bytes.data() + position, range.begin - position);
    for (uint64_t left = range.end - range.begin; left > 0;) {
      const uint64_t chunk = std::min<uint64_t>(left, sizeof kZeros);
      crypto_hash_sha256_update(&state, kZeros, chunk);
      left -= chunk;
    }
    position = range.end;
  }
  crypto_hash_sha256_update(&state, bytes.data() + position, bytes.size() - position);
  Checksum sum;
  crypto_hash_sha256_final(&state, sum.data());
  return sum;
}

Checksum StoredChecksum(std::span<const uint8_t> bytes) {
  const SectionTable table(bytes);
  const SectionEntry& checksum = ChecksumSection(table);
  Checksum sum;
  std::copy(checksum.contents.begin(), checksum.contents.end(), sum.begin());
  return sum;
}

std::string ChecksumHex(const Checksum& checksum) {
  return HexDigits(checksum);
}

}  // namespace hotpatch::bundle
