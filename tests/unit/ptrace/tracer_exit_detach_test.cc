// ProcessAttachment::LeaveToTracerThreadExit: the engine lets the kernel detach a target when its
// tracer thread ends, instead of stopping it a second time to detach. What the kernel does then
// (exit_ptrace) must be what our own detach does: every thread runs on untraced, a signal caught
// in a signal-delivery-stop meanwhile is delivered, a group-stop stays a group-stop — and all of
// it before RunOnOwnTracerThread returns, so a next attach does not find the old tracer.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "engine/tracer_thread.h"
#include "process/process_attachment.h"
#include "support/target_process.h"
#include "thread_observation.h"

using namespace hotpatch;
using namespace hotpatch::test;

TEST_CASE("threads left to the tracer thread's exit run on untraced, with every signal sent") {
  TargetProcess target(TargetPath("signal_counter"), {"3"});
  int realtime_signal = static_cast<int>(NumberAfter(target.WaitForLine("ready"), "ready"));

  std::atomic<bool> sending{true};
  std::atomic<unsigned long> sent{0};
  std::thread sender([&] {
    union sigval value {};
    while (sending) {
      if (sigqueue(target.pid(), realtime_signal, value) == 0) ++sent;
      usleep(30);
    }
  });
  for (int cycle = 0; cycle < 30; ++cycle) {
    bool left = RunOnOwnTracerThread([&] {
      ProcessAttachment attachment = ProcessAttachment::Seize(target.pid());
      attachment.StopAll();
      attachment.ResumeAll();
      // Nobody services the threads now: each signal that arrives holds its thread in a
      // signal-delivery-stop until the exit below.
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      return attachment.LeaveToTracerThreadExit();
    });
    REQUIRE(left);
    // Already let go when RunOnOwnTracerThread returns, not some microseconds later.
    INFO("cycle " << cycle << ": " << DescribeThreads(target.pid()));
    for (const auto& [tid, status] : ThreadStatuses(target.pid())) CHECK(status.tracer_pid == 0);
  }
  sending = false;
  sender.join();
  REQUIRE(sent > 100);
  INFO(DescribeThreads(target.pid()));
  REQUIRE(WaitUntilEveryThread(target.pid(), UntracedAndNotStopped));
  CHECK(CountOnceDelivered(target, sent) == sent);
}

TEST_CASE("a process stopped by SIGSTOP while left to the tracer's exit stays stopped") {
  TargetProcess target(TargetPath("signal_counter"), {"2"});
  target.WaitForLine("ready");
  bool left = RunOnOwnTracerThread([&] {
    ProcessAttachment attachment = ProcessAttachment::Seize(target.pid());
    attachment.StopAll();
    attachment.ResumeAll();
    REQUIRE(kill(target.pid(), SIGSTOP) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));  // unserviced: held for us
    return attachment.LeaveToTracerThreadExit();
  });
  REQUIRE(left);
  INFO(DescribeThreads(target.pid()));
  // Untraced and in the group-stop ('T'), as if we had never been there.
  CHECK(WaitUntilEveryThread(
      target.pid(), [](const TaskStatus& s) { return s.tracer_pid == 0 && s.state == 'T'; }));
  REQUIRE(kill(target.pid(), SIGCONT) == 0);
  CHECK(WaitUntilEveryThread(target.pid(), UntracedAndNotStopped));
}

TEST_CASE("LeaveToTracerThreadExit refuses while the threads are stopped") {
  TargetProcess target(TargetPath("signal_counter"), {"1"});
  target.WaitForLine("ready");
  RunOnOwnTracerThread([&] {
    ProcessAttachment attachment = ProcessAttachment::Seize(target.pid());
    attachment.StopAll();
    CHECK_FALSE(attachment.LeaveToTracerThreadExit());
    return 0;  // the destructor detaches, as before
  });
  CHECK(WaitUntilEveryThread(target.pid(), UntracedAndNotStopped));
}

// Stopped before we came (PTRACE_LISTEN kept it so through our stops): still stopped after.
TEST_CASE(
    "a process SIGSTOPped before the attachment stays stopped when left to the tracer's exit") {
  TargetProcess target(TargetPath("busy_threads"), {"2"});
  target.WaitForLine("ready");
  kill(target.pid(), SIGSTOP);
  REQUIRE(WaitUntilEveryThread(target.pid(), GroupStoppedUntraced));
  bool left = RunOnOwnTracerThread([&] {
    ProcessAttachment attachment = ProcessAttachment::Seize(target.pid());
    attachment.StopAll();
    attachment.ResumeAll();
    return attachment.LeaveToTracerThreadExit();
  });
  REQUIRE(left);
  CheckStaysGroupStoppedUntilSigcont(target);
}
