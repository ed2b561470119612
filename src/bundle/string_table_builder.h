// Builds an ELF string table (gABI: a NUL first, then NUL-terminated strings referenced by offset).
// Equal strings share one offset; insertion order fixes the layout, so output is deterministic.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace hotpatch::bundle {

class StringTableBuilder {
 public:
  // Offset of `text` in the table; the empty string is offset 0.
  uint32_t Add(std::string_view text) {
    if (text.empty()) return 0;
    auto [it, inserted] = offsets_.try_emplace(std::string(text), 0);
    if (inserted) {
      it->second = static_cast<uint32_t>(bytes_.size());
      bytes_.insert(bytes_.end(), text.begin(), text.end());
      bytes_.push_back(0);
    }
    return it->second;
  }
  const std::vector<uint8_t>& bytes() const { return bytes_; }

 private:
  std::vector<uint8_t> bytes_{0};
  std::map<std::string, uint32_t, std::less<>> offsets_;
};

}  // namespace hotpatch::bundle
