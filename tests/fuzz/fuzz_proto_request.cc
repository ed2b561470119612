// libFuzzer harness: hotpatchd parses one JSON line per request from any local client allowed to
// connect; hotpatchctl parses the daemon's responses. Only Error (kBadRequest naming the field)
// may come out; a nlohmann exception escaping, a crash or a sanitizer report is a finding.
//
// Oracle beyond "no crash": a message that parses serializes to a line that parses back equal.
#include <cstdint>
#include <string>
#include <string_view>

#include "base/error.h"
#include "proto/messages.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view line(reinterpret_cast<const char*>(data), size);
  try {
    auto request = hotpatch::proto::ParseRequest(line);
    std::string again = hotpatch::proto::SerializeRequest(request);
    if (!(hotpatch::proto::ParseRequest(again) == request)) __builtin_trap();
  } catch (const hotpatch::Error&) {
  }
  try {
    auto response = hotpatch::proto::ParseResponse(line);
    std::string again = hotpatch::proto::SerializeResponse(response);
    if (!(hotpatch::proto::ParseResponse(again) == response)) __builtin_trap();
  } catch (const hotpatch::Error&) {
  }
  return 0;
}
