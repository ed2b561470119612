// A client for minivmx's control socket: one query line out, one answer line back.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include "base/unique_fd.h"

namespace hotpatch::test {

class ControlClient {
 public:
  // Connects to the Unix stream socket at `path`; throws hotpatch::Error naming the path.
  explicit ControlClient(const std::string& path);

  // Sends `query` and returns the answer line without its newline. Throws on timeout or when
  // the connection closes before a full line arrives.
  std::string Ask(std::string_view query,
                  std::chrono::milliseconds timeout = std::chrono::seconds(10));

 private:
  std::string path_;
  UniqueFd fd_;
  std::string buffered_;
};

// "a=1 b=yes" -> {a: "1", b: "yes"}; words without '=' are ignored.
std::map<std::string, std::string> ParseKeyValues(std::string_view line);

// The integer value of `key`, or throws naming the key and the whole line.
uint64_t KeyAsNumber(const std::map<std::string, std::string>& values, const std::string& key);

}  // namespace hotpatch::test
