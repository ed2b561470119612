// An address in the tracee. Kept apart from local pointers and plain integers by type, as rr's
// remote_ptr does: mixing "where it is in the target" with "where it is in our copy" is the
// classic live-patching bug, and the compiler should catch it.
#pragma once

#include <compare>
#include <cstdint>
#include <string>

namespace hotpatch {

class RemotePtr {
 public:
  constexpr RemotePtr() = default;
  constexpr explicit RemotePtr(uint64_t address) : address_(address) {}

  constexpr uint64_t value() const { return address_; }
  constexpr bool is_null() const { return address_ == 0; }

  constexpr RemotePtr operator+(int64_t delta) const { return RemotePtr(address_ + delta); }
  constexpr RemotePtr operator-(int64_t delta) const { return RemotePtr(address_ - delta); }
  constexpr RemotePtr& operator+=(int64_t delta) { address_ += delta; return *this; }
  // Distance in bytes between two tracee addresses.
  constexpr int64_t operator-(RemotePtr other) const { return int64_t(address_ - other.address_); }
  constexpr auto operator<=>(const RemotePtr&) const = default;

  // "0x7f12345678".
  std::string ToString() const;

 private:
  uint64_t address_ = 0;
};

// A half-open range [begin, end) of tracee addresses.
struct RemoteRange {
  RemotePtr begin;
  RemotePtr end;

  constexpr uint64_t size() const { return end.value() - begin.value(); }
  constexpr bool contains(RemotePtr p) const { return p >= begin && p < end; }
  constexpr bool overlaps(const RemoteRange& o) const { return begin < o.end && o.begin < end; }
  constexpr auto operator<=>(const RemoteRange&) const = default;
};

}  // namespace hotpatch
