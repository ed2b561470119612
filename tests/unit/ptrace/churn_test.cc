// Threads that are born and die while we stop and resume the process.
#include <signal.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "process/process_attachment.h"
#include "support/target_process.h"
#include "thread_observation.h"

using namespace hotpatch;
using namespace hotpatch::test;

TEST_CASE("threads created and exiting during stops: none left stopped or traced") {
  TargetProcess target(TargetPath("thread_churn"));
  target.WaitForLine("ready");
  unsigned long created_before = NumberAfter(AskTarget(target, "created"), "created");
  size_t most_threads = 0;
  {
    auto attachment = ProcessAttachment::Seize(target.pid());
    for (int cycle = 0; cycle < 100; ++cycle) {
      attachment.StopAll();
      const auto& threads = attachment.threads();
      REQUIRE(threads.size() >= 2);  // main and creator at least
      most_threads = std::max(most_threads, threads.size());
      // Stopped means stopped: nothing we hold is running.
      for (const auto& thread : threads) {
        auto status = TryReadTaskStatus(target.pid(), thread.tid);
        REQUIRE(status);
        CHECK(status->state == 't');
      }
      attachment.ResumeAll();
      attachment.RunFor(std::chrono::microseconds(300));
    }
  }
  CHECK(most_threads > 2);  // short-lived threads were caught in flight
  INFO(DescribeThreads(target.pid()));
  REQUIRE(WaitUntilEveryThread(target.pid(), UntracedAndNotStopped));
  // The process still creates threads: the creator was not left stopped.
  unsigned long created_after = NumberAfter(AskTarget(target, "created"), "created");
  usleep(20000);
  CHECK(NumberAfter(AskTarget(target, "created"), "created") > created_after);
  CHECK(created_after > created_before);
}
