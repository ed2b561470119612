// fleet_apply (hotpatchctl apply --all-processes): its request and per-process result are as
// strict as every other message — a typo in `atomic` or an unknown member field is refused.
#include <catch2/catch.hpp>

#include "proto/messages.h"

namespace hotpatch::proto {
namespace {

std::string RefusalMessage(const std::string& line, bool response = false) {
  try {
    if (response)
      ParseResponse(line);
    else
      ParseRequest(line);
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kBadRequest);
    return e.what();
  }
  FAIL("accepted: " << line);
  return "";
}

const char kMember[] =
    R"({"pid":7,"command":"minivmx","outcome":"applied","placement":"reserved","attempts":1,)"
    R"("pause_us":300,"error":"","message":""})";

std::string FleetResponse(const std::string& member) {
  return R"({"version":1,"ok":true,"command":"fleet_apply","patch_id":"p","target_module":"m",)"
         R"("target_build_id":"ab","atomic":true,"processes":[)" +
         member + "]}";
}

}  // namespace

TEST_CASE("fleet_apply requests round-trip, and default to not atomic, placement auto") {
  Request parsed = ParseRequest(R"({"version":1,"command":"fleet_apply","bundle_fd":true})");
  auto& fleet = std::get<FleetApplyRequest>(parsed.body);
  CHECK_FALSE(fleet.atomic);
  CHECK(fleet.placement == "auto");
  CHECK_FALSE(fleet.timeout_ms.has_value());
  CHECK(ChangesProcess(parsed.body));
  CHECK(CommandName(parsed.body) == "fleet_apply");
  for (const Request& request :
       {Request{kProtocolVersion, FleetApplyRequest{{true, std::nullopt}, "mapping", 1500, true}},
        Request{kProtocolVersion,
                FleetApplyRequest{{false, "/srv/p.hpb"}, "auto", std::nullopt, false}}}) {
    std::string line = SerializeRequest(request);
    INFO(line);
    CHECK(ParseRequest(line) == request);
  }
}

TEST_CASE("fleet_apply requests with a wrong field name it") {
  CHECK_THAT(RefusalMessage(R"({"version":1,"command":"fleet_apply","bundle_fd":true,"atomic":1})"),
             Catch::Contains("'atomic'"));
  // A fleet has no pid: a client mixing up apply and fleet_apply is told so.
  CHECK_THAT(RefusalMessage(R"({"version":1,"command":"fleet_apply","bundle_fd":true,"pid":4})"),
             Catch::Contains("'pid'"));
  CHECK_THAT(RefusalMessage(R"({"version":1,"command":"fleet_apply"})"),
             Catch::Contains("'bundle_fd'"));
  CHECK_THAT(RefusalMessage(
                 R"({"version":1,"command":"fleet_apply","bundle_fd":true,"placement":"heap"})"),
             Catch::Contains("'placement'"));
  CHECK_THAT(
      RefusalMessage(R"({"version":1,"command":"fleet_apply","bundle_fd":true,"timeout_ms":-5})"),
      Catch::Contains("'timeout_ms'"));
  // apply does not take atomic: that is fleet_apply's.
  CHECK_THAT(
      RefusalMessage(R"({"version":1,"command":"apply","pid":4,"bundle_fd":true,"atomic":true})"),
      Catch::Contains("'atomic'"));
}

TEST_CASE("fleet_apply results round-trip and refuse unknown or missing member fields") {
  Response parsed = ParseResponse(FleetResponse(kMember));
  auto& result = std::get<FleetApplyResult>(parsed.body);
  REQUIRE(result.processes.size() == 1);
  CHECK(result.processes[0] == FleetMember{7, "minivmx", "applied", "reserved", 1, 300, "", ""});
  CHECK(ParseResponse(SerializeResponse(parsed)) == parsed);

  std::string extra = std::string(kMember);
  extra.insert(extra.size() - 1, R"(,"rolled_back":true)");
  CHECK_THAT(RefusalMessage(FleetResponse(extra), true), Catch::Contains("rolled_back"));
  std::string missing = R"({"pid":7,"command":"minivmx","outcome":"applied"})";
  CHECK_THAT(RefusalMessage(FleetResponse(missing), true), Catch::Contains("placement"));
  std::string bad_pid = std::string(kMember);
  bad_pid.replace(bad_pid.find("7"), 1, "0");
  CHECK_THAT(RefusalMessage(FleetResponse(bad_pid), true), Catch::Contains("pid"));
}

}  // namespace hotpatch::proto
