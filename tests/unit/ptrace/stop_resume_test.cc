// Stopping and resuming every thread of a real multi-threaded target.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <future>
#include <set>
#include <stdexcept>
#include <thread>

#include "base/error.h"
#include "process/process_attachment.h"
#include "process/thread_status.h"
#include "support/target_process.h"
#include "thread_observation.h"

using namespace hotpatch;
using namespace hotpatch::test;

TEST_CASE("StopAll stops every thread, names it, and ResumeAll lets them run") {
  TargetProcess target(TargetPath("busy_threads"), {"4"});
  target.WaitForLine("ready");
  unsigned long before = NumberAfter(AskTarget(target, "counters"), "counters");

  auto attachment = ProcessAttachment::Seize(target.pid());
  attachment.StopAll();
  REQUIRE(attachment.stopped());
  const auto& threads = attachment.threads();
  REQUIRE(threads.size() == 5);
  std::set<std::string> names;
  for (const auto& thread : threads) names.insert(ReadThreadName(target.pid(), thread.tid));
  CHECK(names.count("busy-0") == 1);
  CHECK(names.count("busy-3") == 1);
  // Every thread is in a ptrace-stop ('t'), held by us.
  for (const auto& [tid, status] : ThreadStatuses(target.pid())) {
    INFO("tid " << tid);
    CHECK(status.state == 't');
    CHECK(status.tracer_pid == gettid());
  }
  attachment.ResumeAll();
  CHECK_FALSE(attachment.stopped());
  CHECK(attachment.last_pause().count() > 0);
  CHECK_THROWS_AS(attachment.threads(), Error);
  attachment.RunFor(std::chrono::milliseconds(20));

  // Still attached, running: the counters move on.
  unsigned long after = NumberAfter(AskAttachedTarget(target, attachment, "counters"), "counters");
  CHECK(after > before);
}

TEST_CASE("200 stop/resume cycles keep busy threads computing correctly") {
  TargetProcess target(TargetPath("busy_threads"), {"4"});
  target.WaitForLine("ready");
  {
    auto attachment = ProcessAttachment::Seize(target.pid());
    std::set<unsigned long long> distinct_rips;
    for (int cycle = 0; cycle < 200; ++cycle) {
      attachment.StopAll();
      REQUIRE(attachment.threads().size() == 5);
      for (const auto& thread : attachment.threads()) distinct_rips.insert(thread.regs.rip);
      attachment.ResumeAll();
      // Long enough for the spinning threads to move on even when the machine is loaded (with
      // 200 µs under ASan and load, they were once caught at only 4 places).
      attachment.RunFor(std::chrono::microseconds(2000));
    }
    // The spinning threads were caught at many places: the registers are really theirs.
    CHECK(distinct_rips.size() > 4);
  }
  REQUIRE(WaitUntilEveryThread(target.pid(), UntracedAndNotStopped));
  std::string line = AskTarget(target, "counters");
  CHECK(NumberAfter(line, "errors") == 0);
  CHECK(NumberAfter(line, "counters") > 0);
  CHECK(target.IsAlive());
}

TEST_CASE("a dead pid gives a clear error") {
  pid_t child = fork();
  if (child == 0) _exit(0);
  int status;
  REQUIRE(waitpid(child, &status, 0) == child);
  try {
    ProcessAttachment::Seize(child);
    FAIL("Seize of a dead pid succeeded");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kNoSuchProcess);
    CHECK_THAT(e.what(), Catch::Contains(std::to_string(child)));
  }
}

TEST_CASE("our own process is refused") {
  try {
    ProcessAttachment::Seize(getpid());
    FAIL("Seize of ourselves succeeded");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kBadRequest);
    CHECK_THAT(e.what(), Catch::Contains("this process"));
  }
}

TEST_CASE("a process already traced by another tracer is refused and left to it") {
  TargetProcess target(TargetPath("busy_threads"), {"2"});
  target.WaitForLine("ready");
  // The other tracer is another thread: ptrace ties a tracee to a thread, not to a process.
  std::promise<pid_t> attached;
  std::promise<void> done;
  std::thread other_tracer([&] {
    auto attachment = ProcessAttachment::Seize(target.pid());
    attached.set_value(gettid());
    done.get_future().wait();
  });
  pid_t other_tid = attached.get_future().get();
  try {
    ProcessAttachment::Seize(target.pid());
    FAIL("Seize of a traced process succeeded");
  } catch (const Error& e) {
    CHECK(e.code() == ErrorCode::kPermissionDenied);
    CHECK_THAT(e.what(), Catch::Contains("already traced by tid " + std::to_string(other_tid)));
  }
  // Refusing did not disturb the other tracer's hold.
  for (const auto& [tid, status] : ThreadStatuses(target.pid()))
    CHECK(status.tracer_pid == other_tid);
  done.set_value();
  other_tracer.join();
  REQUIRE(WaitUntilEveryThread(target.pid(), UntracedAndNotStopped));
}

TEST_CASE("an attachment used from another thread refuses with a clear error") {
  TargetProcess target(TargetPath("busy_threads"), {"1"});
  target.WaitForLine("ready");
  auto attachment = ProcessAttachment::Seize(target.pid());
  std::string message;
  std::thread([&] {
    try {
      attachment.StopAll();
    } catch (const Error& e) {
      message = e.what();
    }
  }).join();
  CHECK_THAT(message, Catch::Contains("only the thread that attached"));
}

TEST_CASE("a SIGSTOPped process stays stopped through attach, stop, resume and detach") {
  TargetProcess target(TargetPath("busy_threads"), {"2"});
  target.WaitForLine("ready");
  kill(target.pid(), SIGSTOP);
  REQUIRE(WaitUntilEveryThread(target.pid(), GroupStoppedUntraced));
  {
    auto attachment = ProcessAttachment::Seize(target.pid());
    for (int cycle = 0; cycle < 3; ++cycle) {
      attachment.StopAll();
      CHECK(attachment.threads().size() == 3);
      attachment.ResumeAll();
      attachment.RunFor(std::chrono::milliseconds(5));
    }
    // Resumed with PTRACE_LISTEN: held, not running.
    for (const auto& [tid, status] : ThreadStatuses(target.pid())) CHECK(status.state == 't');
  }
  CheckStaysGroupStoppedUntilSigcont(target);
}

TEST_CASE("an attachment destroyed while stopped leaves every thread running and untraced") {
  TargetProcess target(TargetPath("busy_threads"), {"3"});
  target.WaitForLine("ready");
  try {
    auto attachment = ProcessAttachment::Seize(target.pid());
    attachment.StopAll();
    throw std::runtime_error("the flip failed");
  } catch (const std::runtime_error&) {
  }
  INFO(DescribeThreads(target.pid()));
  REQUIRE(WaitUntilEveryThread(target.pid(), UntracedAndNotStopped));
  unsigned long first = NumberAfter(AskTarget(target, "counters"), "counters");
  usleep(20000);
  CHECK(NumberAfter(AskTarget(target, "counters"), "counters") > first);
}

TEST_CASE("a process whose main thread exited can be attached, stopped and resumed") {
  TargetProcess target(TargetPath("busy_threads"), {"2", "leader-exits"});
  target.WaitForLine("ready");
  auto leader_is_zombie = [&] {
    auto status = TryReadTaskStatus(target.pid(), target.pid());
    return status && status->state == 'Z';
  };
  SECTION("it exits before we attach") {
    kill(target.pid(), SIGUSR2);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!leader_is_zombie()) REQUIRE(std::chrono::steady_clock::now() < deadline);
    auto attachment = ProcessAttachment::Seize(target.pid());
    for (int cycle = 0; cycle < 10; ++cycle) {
      attachment.StopAll();
      CHECK(attachment.threads().size() == 3);  // two busy threads and the reporter
      attachment.ResumeAll();
      attachment.RunFor(std::chrono::microseconds(500));
    }
  }
  SECTION("it exits while we are attached") {
    auto attachment = ProcessAttachment::Seize(target.pid());
    kill(target.pid(), SIGUSR2);  // taken by sigwait: no signal-delivery-stop to service
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (!leader_is_zombie()) {
      attachment.RunFor(std::chrono::milliseconds(1));
      REQUIRE(std::chrono::steady_clock::now() < deadline);
    }
    // The kernel never reports a zombie leader's exit while its threads live: waiting for it
    // would hang here.
    for (int cycle = 0; cycle < 10; ++cycle) {
      attachment.StopAll();
      CHECK(attachment.threads().size() == 3);
      attachment.ResumeAll();
      attachment.RunFor(std::chrono::microseconds(500));
    }
  }
  std::string line = AskTarget(target, "counters");
  CHECK(NumberAfter(line, "errors") == 0);
  for (const auto& [tid, status] : ThreadStatuses(target.pid())) {
    if (tid != target.pid()) CHECK(status.tracer_pid == 0);
  }
}
