// Signals that arrive while we hold or service the threads are passed on, none lost.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>

#include "process/process_attachment.h"
#include "process/remote_syscall.h"
#include "support/target_process.h"
#include "thread_observation.h"

using namespace hotpatch;
using namespace hotpatch::test;

TEST_CASE("real-time signals sent during 100 stop/resume cycles all arrive") {
  TargetProcess target(TargetPath("signal_counter"), {"3"});
  int realtime_signal = static_cast<int>(NumberAfter(target.WaitForLine("ready"), "ready"));

  std::atomic<bool> sending{true};
  std::atomic<unsigned long> sent{0};
  {
    auto attachment = ProcessAttachment::Seize(target.pid());
    // Real-time signals queue one entry per send, so every successful sigqueue must show up as
    // exactly one handler run. EAGAIN (queue full) sends nothing and is not counted.
    std::thread sender([&] {
      union sigval value {};
      while (sending) {
        value.sival_int = static_cast<int>(sent.load());
        if (sigqueue(target.pid(), realtime_signal, value) == 0) ++sent;
        usleep(50);
      }
    });
    for (int cycle = 0; cycle < 100; ++cycle) {
      attachment.StopAll();
      attachment.ResumeAll();
      attachment.RunFor(std::chrono::microseconds(500));
    }
    sending = false;
    sender.join();
  }
  REQUIRE(sent > 100);
  REQUIRE(WaitUntilEveryThread(target.pid(), UntracedAndNotStopped));
  CHECK(CountOnceDelivered(target, sent) == sent);
}

TEST_CASE("a signal dequeued while stopping is held and delivered on resume") {
  TargetProcess target(TargetPath("signal_counter"), {"2"});
  int realtime_signal = static_cast<int>(NumberAfter(target.WaitForLine("ready"), "ready"));
  auto attachment = ProcessAttachment::Seize(target.pid());
  // Signals sent while the threads are held stay queued in the kernel or are held by us; either
  // way the handler runs once per signal after ResumeAll.
  attachment.StopAll();
  constexpr int kSignals = 20;
  union sigval value {};
  for (int i = 0; i < kSignals; ++i) REQUIRE(sigqueue(target.pid(), realtime_signal, value) == 0);
  attachment.ResumeAll();
  // While attached, each delivery is a signal-delivery-stop that RunFor passes on.
  unsigned long count = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (count < kSignals && std::chrono::steady_clock::now() < deadline) {
    attachment.RunFor(std::chrono::milliseconds(5));
    count = NumberAfter(AskAttachedTarget(target, attachment, "count"), "count");
  }
  CHECK(count == kSignals);
}

TEST_CASE("signals held across a remote syscall are all delivered, once each") {
  TargetProcess target(TargetPath("signal_counter"), {"1"});
  int realtime_signal = static_cast<int>(NumberAfter(target.WaitForLine("ready"), "ready"));
  pid_t main_thread = target.pid();  // waits in sigwait(SIGUSR1); the signal is not blocked there
  auto attachment = ProcessAttachment::Seize(target.pid());
  // Two signals for the main thread while nobody services it: it dequeues the first and waits for
  // us in a signal-delivery-stop ('t'); the second stays queued in the kernel.
  REQUIRE(syscall(SYS_tgkill, target.pid(), main_thread, realtime_signal) == 0);
  REQUIRE(syscall(SYS_tgkill, target.pid(), main_thread, realtime_signal) == 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (TryReadTaskStatus(target.pid(), main_thread)->state != 't') {
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    usleep(1000);
  }
  // StopAll takes the first signal from the stop (it is ours to give back now); the remote
  // syscall's single-step dequeues the second before the instruction runs.
  attachment.StopAll();
  {
    RemoteSyscall call(attachment, main_thread,
                       FindSyscallInstruction(target.pid(), attachment.memory()));
    CHECK(call.Call(SYS_getpid) == target.pid());
  }
  attachment.ResumeAll();
  unsigned long count = 0;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (count < 2 && std::chrono::steady_clock::now() < deadline) {
    count = NumberAfter(AskAttachedTarget(target, attachment, "count"), "count");
  }
  CHECK(count == 2);
  // Nothing more arrives later (a signal delivered twice would).
  attachment.RunFor(std::chrono::milliseconds(20));
  CHECK(NumberAfter(AskAttachedTarget(target, attachment, "count"), "count") == 2);
}
