// Bounds-checked access to the bytes of an untrusted bundle. Every read names the field it serves,
// so that a corrupt bundle is refused with a message a human can act on.
#pragma once

#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>

#include "base/error.h"

namespace hotpatch::bundle {

// The error for a corrupt, truncated or unsupported bundle: "bundle: <what>".
inline Error BadBundle(const std::string& what) {
  return Error(ErrorCode::kBadBundle, "bundle: " + what);
}

// offset + size <= total, without overflow.
inline bool RangeFits(uint64_t offset, uint64_t size, uint64_t total) {
  return offset <= total && size <= total - offset;
}

// The record of type T at `offset` in `bytes`; throws naming `what` if it does not fit.
template <typename T>
T ReadRecord(std::span<const uint8_t> bytes, uint64_t offset, std::string_view what) {
  if (!RangeFits(offset, sizeof(T), bytes.size())) {
    throw BadBundle(std::string(what) + ": " + std::to_string(sizeof(T)) + " bytes at offset " +
                    std::to_string(offset) + " beyond its " + std::to_string(bytes.size()) +
                    " bytes");
  }
  T record;
  std::memcpy(&record, bytes.data() + offset, sizeof(T));
  return record;
}

// The NUL-terminated string at `offset` of a string table whose last byte is known to be NUL
// (StringTable checks that when it is built).
class StringTable {
 public:
  // `name` is the section's name, for messages. Throws unless the table is empty-string-first and
  // NUL-terminated (ELF gABI rules for string tables).
  StringTable(std::span<const uint8_t> bytes, std::string_view name);
  // Throws "<what> offset 9000 beyond .strtab (512 bytes)" when offset is out of range, `what`
  // being e.g. ".symtab entry 3: name".
  std::string At(uint64_t offset, std::string_view what) const;

 private:
  std::span<const uint8_t> bytes_;
  std::string name_;
};

inline StringTable::StringTable(std::span<const uint8_t> bytes, std::string_view name)
    : bytes_(bytes), name_(name) {
  if (bytes.empty() || bytes.front() != 0 || bytes.back() != 0) {
    throw BadBundle(name_ + ": a string table must start and end with a NUL byte");
  }
}

inline std::string StringTable::At(uint64_t offset, std::string_view what) const {
  if (offset >= bytes_.size()) {
    throw BadBundle(std::string(what) + " offset " + std::to_string(offset) + " beyond " + name_ +
                    " (" + std::to_string(bytes_.size()) + " bytes)");
  }
  const char* start = reinterpret_cast<const char*>(bytes_.data() + offset);
  return std::string(start);  // terminated: the table's last byte is NUL
}

}  // namespace hotpatch::bundle
