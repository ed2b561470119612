#include <catch2/catch.hpp>

#include "base/error.h"
#include "base/hex.h"
#include "base/remote_ptr.h"

using hotpatch::RemotePtr;
using hotpatch::RemoteRange;

TEST_CASE("RemotePtr arithmetic and ranges") {
  RemotePtr p(0x1000);
  CHECK((p + 0x10).value() == 0x1010);
  CHECK((RemotePtr(0x1010) - p) == 0x10);
  CHECK(p.ToString() == "0x1000");
  RemoteRange r{RemotePtr(0x1000), RemotePtr(0x2000)};
  CHECK(r.contains(RemotePtr(0x1fff)));
  CHECK_FALSE(r.contains(RemotePtr(0x2000)));
  CHECK(r.overlaps({RemotePtr(0x1800), RemotePtr(0x3000)}));
  CHECK_FALSE(r.overlaps({RemotePtr(0x2000), RemotePtr(0x3000)}));
}

TEST_CASE("ErrnoError maps errno to stable codes") {
  CHECK(hotpatch::ErrnoError("ptrace(SEIZE, 42)", ESRCH).code() == hotpatch::ErrorCode::kNoSuchProcess);
  CHECK(hotpatch::ErrnoError("open", EACCES).code() == hotpatch::ErrorCode::kPermissionDenied);
  auto e = hotpatch::ErrnoError("mmap", ENOMEM);
  CHECK(e.code() == hotpatch::ErrorCode::kInternal);
  CHECK(std::string(e.what()).starts_with("mmap: "));
  CHECK(hotpatch::ErrorCodeName(hotpatch::ErrorCode::kBadBundle) == "bad_bundle");
  const uint8_t bytes[] = {0xf3, 0x0f, 0x1e, 0xfa};
  CHECK(hotpatch::HexBytes(bytes) == "f3 0f 1e fa");
}

TEST_CASE("HexDigits and ParseHexDigits round-trip and reject junk") {
  const uint8_t bytes[] = {0x00, 0x7f, 0xab, 0xff};
  CHECK(hotpatch::HexDigits(bytes) == "007fabff");
  CHECK(hotpatch::ParseHexDigits("007FabfF") == std::vector<uint8_t>{0x00, 0x7f, 0xab, 0xff});
  CHECK_FALSE(hotpatch::ParseHexDigits("abc").has_value());
  CHECK_FALSE(hotpatch::ParseHexDigits("zz").has_value());
}
