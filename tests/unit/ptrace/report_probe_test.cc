#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "process/ptrace_request.h"
#include "process/thread_stop.h"
#include "support/target_process.h"

using namespace hotpatch;
using namespace hotpatch::test;

TEST_CASE("AnyReportPending sees a tracee's stop without consuming it") {
  // On a thread of its own, which forks the target: the probe looks at the calling thread's
  // tracees and children only, so no other test's process can answer it.
  std::thread([] {
    TargetProcess target(TargetPath("plain_loop"));
    REQUIRE(TryPtraceSeize(target.pid()) == 0);
    CHECK_FALSE(AnyReportPending());  // seized, running: nothing to report

    REQUIRE(TryPtraceInterrupt(target.pid()) == 0);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!AnyReportPending()) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::microseconds(50));
    }
    CHECK(AnyReportPending());  // still there: WNOWAIT left it
    std::optional<ThreadStop> stop = PollThreadStop(target.pid());
    REQUIRE(stop.has_value());
    CHECK(stop->kind == StopKind::kInterrupt);
    CHECK_FALSE(AnyReportPending());  // consumed by the real wait
    CHECK(TryPtraceDetach(target.pid(), 0) == 0);
  }).join();
}
