// Strict parsing: whatever a client gets wrong is refused as bad_request naming the field.
#include <catch2/catch.hpp>

#include "proto/messages.h"

namespace hotpatch::proto {
namespace {

// The error a malformed request gets; fails the test if it parses.
Error RefusalOf(const std::string& line) {
  try {
    ParseRequest(line);
  } catch (const Error& e) {
    return e;
  }
  FAIL("accepted: " << line);
  return Error(ErrorCode::kInternal, "unreachable");
}

void RequireBadRequestNaming(const std::string& line, const std::string& field) {
  INFO(line);
  Error e = RefusalOf(line);
  CHECK(e.code() == ErrorCode::kBadRequest);
  CHECK_THAT(e.what(), Catch::Contains("'" + field + "'"));
}

}  // namespace

TEST_CASE("requests with an unknown command, field or wrong type name the field") {
  RequireBadRequestNaming(R"({"version":1,"command":"reboot"})", "command");
  RequireBadRequestNaming(R"({"version":1,"command":7})", "command");
  RequireBadRequestNaming(R"({"version":1})", "command");
  RequireBadRequestNaming(R"({"command":"status"})", "version");
  RequireBadRequestNaming(R"({"version":"1","command":"status"})", "version");
  RequireBadRequestNaming(R"({"version":1,"command":"status","verbose":true})", "verbose");
  RequireBadRequestNaming(R"({"version":1,"command":"list","pid":"42"})", "pid");
  RequireBadRequestNaming(R"({"version":1,"command":"list","pid":42.0})", "pid");
  RequireBadRequestNaming(R"({"version":1,"command":"list","pid":0})", "pid");
  RequireBadRequestNaming(R"({"version":1,"command":"list","pid":-5})", "pid");
  RequireBadRequestNaming(R"({"version":1,"command":"list","pid":4294967296})", "pid");
  RequireBadRequestNaming(R"({"version":1,"command":"revert"})", "pid");
  RequireBadRequestNaming(R"({"version":1,"command":"revert","pid":1,"all":"yes"})", "all");
  RequireBadRequestNaming(R"({"version":1,"command":"revert","pid":1,"all":true,"patch_id":"a"})",
                          "all");
  RequireBadRequestNaming(R"({"version":1,"command":"revert","pid":1,"patch_id":"a b"})",
                          "patch_id");
  RequireBadRequestNaming(R"({"version":1,"command":"revert","pid":1,"timeout_ms":-1})",
                          "timeout_ms");
  RequireBadRequestNaming(R"({"version":1,"command":"apply","pid":1})", "bundle_fd");
  RequireBadRequestNaming(
      R"({"version":1,"command":"apply","pid":1,"bundle_fd":true,"bundle_path":"/b.hpb"})",
      "bundle_fd");
  RequireBadRequestNaming(R"({"version":1,"command":"apply","pid":1,"bundle_fd":false})",
                          "bundle_fd");
  RequireBadRequestNaming(R"({"version":1,"command":"apply","pid":1,"bundle_path":"rel.hpb"})",
                          "bundle_path");
  RequireBadRequestNaming(
      R"({"version":1,"command":"apply","pid":1,"bundle_fd":true,"placement":"heap"})",
      "placement");
  RequireBadRequestNaming(
      R"({"version":1,"command":"apply","pid":1,"bundle_fd":true,"timeout_ms":3600001})",
      "timeout_ms");
}

TEST_CASE("lines that are not one JSON object are bad requests") {
  for (std::string line : {"", "status", "{", "[1,2]", "\"list\"", "{\"version\":1,}", "null"}) {
    INFO(line);
    CHECK(RefusalOf(line).code() == ErrorCode::kBadRequest);
  }
}

TEST_CASE("another protocol version is unsupported, not misread") {
  Error e = RefusalOf(R"({"version":2,"command":"status"})");
  CHECK(e.code() == ErrorCode::kUnsupported);
  CHECK_THAT(e.what(), Catch::Contains("version 2"));
}

TEST_CASE("requests round-trip through their JSON form") {
  std::vector<Request> requests = {
      {kProtocolVersion, ApplyRequest{42, {true, std::nullopt}, "dead", 250}},
      {kProtocolVersion, ApplyRequest{42, {false, "/srv/p.hpb"}, "auto", std::nullopt}},
      {kProtocolVersion, RevertRequest{7, "fix-1.2+x", false, 100}},
      {kProtocolVersion, RevertRequest{7, std::nullopt, true, std::nullopt}},
      {kProtocolVersion, ListRequest{std::nullopt}},
      {kProtocolVersion, ListRequest{99}},
      {kProtocolVersion, StatusRequest{}},
      {kProtocolVersion, InfoRequest{{true, std::nullopt}}},
  };
  for (const auto& request : requests) {
    std::string line = SerializeRequest(request);
    INFO(line);
    CHECK(line.find('\n') == std::string::npos);
    CHECK(ParseRequest(line) == request);
  }
}

TEST_CASE("responses are parsed as strictly as requests") {
  CHECK_THROWS_AS(ParseResponse(R"({"version":1,"ok":true,"command":"status"})"), Error);
  CHECK_THROWS_AS(ParseResponse(R"({"version":1,"ok":false,"error":"busy"})"), Error);
  CHECK_THROWS_AS(
      ParseResponse(R"({"version":1,"ok":false,"error":"busy","message":"m","extra":1})"), Error);
  Response error = ParseResponse(R"({"version":1,"ok":false,"error":"busy","message":"m"})");
  CHECK(std::get<ErrorReply>(error.body) == ErrorReply{"busy", "m"});
}

}  // namespace hotpatch::proto
