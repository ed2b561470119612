// The SCHED_FIFO boost while stopping restores every thread's exact scheduling attributes.
#include "process/scheduling_boost.h"

#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>

#include "process/process_attachment.h"
#include "support/target_process.h"
#include "thread_observation.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

void SetAttributes(pid_t tid, uint32_t policy, int32_t nice, uint32_t priority = 0) {
  SchedulingAttributes attributes;
  attributes.policy = policy;
  attributes.nice = nice;
  attributes.priority = priority;
  REQUIRE(syscall(SYS_sched_setattr, tid, &attributes, 0) == 0);
}

bool Same(const SchedulingAttributes& a, const SchedulingAttributes& b) {
  return a.policy == b.policy && a.flags == b.flags && a.nice == b.nice && a.priority == b.priority;
}

// The worker threads of a busy_threads target, by name.
std::map<std::string, pid_t> Workers(pid_t pid) {
  std::map<std::string, pid_t> workers;
  for (pid_t tid : ListThreads(pid)) {
    std::string name = ReadThreadName(pid, tid);
    if (name.starts_with("busy-")) workers[name] = tid;
  }
  return workers;
}

}  // namespace

TEST_CASE("a scheduling boost raises a thread to SCHED_FIFO 1 and restores it exactly") {
  TargetProcess target(TargetPath("busy_threads"), {"3"});
  target.WaitForLine("ready");
  auto workers = Workers(target.pid());
  REQUIRE(workers.size() == 3);
  SetAttributes(workers["busy-0"], SCHED_OTHER, 7);
  SetAttributes(workers["busy-1"], SCHED_BATCH, 3);
  SetAttributes(workers["busy-2"], SCHED_RR, 0, 5);

  for (const auto& [name, tid] : workers) {
    INFO(name);
    SchedulingAttributes before = *TryReadSchedulingAttributes(tid);
    {
      auto boost = ScopedSchedulingBoost::TryBoost(tid);
      SchedulingAttributes during = *TryReadSchedulingAttributes(tid);
      if (name == "busy-2") {
        // Already real-time: left alone rather than lowered to priority 1.
        CHECK_FALSE(boost);
        CHECK(Same(during, before));
      } else {
        REQUIRE(boost);
        CHECK(during.policy == SCHED_FIFO);
        CHECK(during.priority == 1);
      }
    }
    CHECK(Same(*TryReadSchedulingAttributes(tid), before));
  }
}

TEST_CASE("StopAll with boosting leaves every thread's scheduling attributes as they were") {
  TargetProcess target(TargetPath("busy_threads"), {"4"});
  target.WaitForLine("ready");
  auto workers = Workers(target.pid());
  REQUIRE(workers.size() == 4);
  SetAttributes(workers["busy-0"], SCHED_OTHER, 5);
  SetAttributes(workers["busy-1"], SCHED_BATCH, -2);
  std::map<pid_t, SchedulingAttributes> before;
  for (pid_t tid : ListThreads(target.pid())) before[tid] = *TryReadSchedulingAttributes(tid);
  {
    auto attachment = ProcessAttachment::Seize(target.pid());
    attachment.set_boost_while_stopping(true);
    size_t boosted = 0;
    for (int cycle = 0; cycle < 100; ++cycle) {
      attachment.StopAll();
      boosted += attachment.last_boosted_threads();
      REQUIRE(attachment.threads().size() == 5);
      // Restored before StopAll returns: no thread is left at SCHED_FIFO.
      for (const auto& thread : attachment.threads()) {
        REQUIRE(TryReadSchedulingAttributes(thread.tid)->policy != SCHED_FIFO);
      }
      attachment.ResumeAll();
      attachment.RunFor(std::chrono::microseconds(200));
    }
    // Four spinning threads on fewer CPUs: some were always still on their way to the trap.
    CHECK(boosted > 0);
  }
  for (const auto& [tid, attributes] : before) {
    INFO("tid " << tid);
    CHECK(Same(*TryReadSchedulingAttributes(tid), attributes));
  }
  CHECK(NumberAfter(AskTarget(target, "counters"), "errors") == 0);
}
