// Every ```json example in docs/protocol.md must be a message the code accepts and writes back
// unchanged: the documentation is the schema other clients are written against.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "proto/messages.h"
#include "support/target_process.h"

namespace hotpatch::proto {
namespace {

std::vector<std::string> JsonExamples() {
  std::ifstream in(test::SourceDir() + "/docs/protocol.md");
  REQUIRE(in);
  std::vector<std::string> examples;
  std::string line;
  bool inside = false;
  std::string current;
  while (std::getline(in, line)) {
    if (!inside && line == "```json") {
      inside = true;
      current.clear();
    } else if (inside && line == "```") {
      inside = false;
      examples.push_back(current);
    } else if (inside) {
      current += line;
    }
  }
  REQUIRE_FALSE(inside);
  return examples;
}

// Every key of `documented` is in `written` with the same value (`written` may add defaults).
void RequireContains(const nlohmann::json& written, const nlohmann::json& documented) {
  for (const auto& [key, value] : documented.items()) {
    INFO("key " << key);
    REQUIRE(written.contains(key));
    CHECK(written.at(key) == value);
  }
}

}  // namespace

TEST_CASE("every JSON example in docs/protocol.md parses and round-trips") {
  auto examples = JsonExamples();
  // Requests and responses of every command, and errors: a page without them lost its examples.
  REQUIRE(examples.size() >= 17);
  int requests = 0, responses = 0;
  for (const auto& example : examples) {
    INFO(example);
    auto documented = nlohmann::json::parse(example);
    if (documented.contains("ok")) {
      Response parsed = ParseResponse(example);
      std::string written = SerializeResponse(parsed);
      CHECK(ParseResponse(written) == parsed);
      RequireContains(nlohmann::json::parse(written), documented);
      ++responses;
    } else {
      Request parsed = ParseRequest(example);
      std::string written = SerializeRequest(parsed);
      CHECK(ParseRequest(written) == parsed);
      RequireContains(nlohmann::json::parse(written), documented);
      ++requests;
    }
  }
  CHECK(requests >= 9);
  CHECK(responses >= 8);
}

TEST_CASE("every error code of the engine has a documented wire name") {
  std::ifstream in(test::SourceDir() + "/docs/protocol.md");
  std::stringstream page;
  page << in.rdbuf();
  for (ErrorCode code :
       {ErrorCode::kInternal, ErrorCode::kBadRequest, ErrorCode::kBadBundle, ErrorCode::kMismatch,
        ErrorCode::kBusy, ErrorCode::kNoSuchProcess, ErrorCode::kPermissionDenied,
        ErrorCode::kUnsupported, ErrorCode::kNotFound}) {
    std::string name(ErrorCodeName(code));
    INFO(name);
    CHECK(ErrorCodeFromName(name) == code);
    CHECK(page.str().find("| `" + name + "` |") != std::string::npos);
  }
  CHECK(ErrorCodeFromName("from_a_newer_daemon") == ErrorCode::kInternal);
}

}  // namespace hotpatch::proto
