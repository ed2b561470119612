// Threads blocked in system calls survive stop/resume: the calls restart and complete.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "process/process_attachment.h"
#include "process/thread_status.h"
#include "support/target_process.h"
#include "thread_observation.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

const StoppedThread* FindThread(const ProcessAttachment& attachment, pid_t tid) {
  for (const auto& thread : attachment.threads()) {
    if (thread.tid == tid) return &thread;
  }
  return nullptr;
}

// A thread interrupted inside a system call shows the call's number in orig_rax.
bool InSystemCall(const ProcessAttachment& attachment, pid_t tid, long number) {
  const StoppedThread* thread = FindThread(attachment, tid);
  return thread && static_cast<long>(thread->regs.orig_rax) == number;
}

}  // namespace

TEST_CASE("a thread blocked in read() and one in nanosleep() survive 50 stop/resume cycles") {
  TargetProcess target(TargetPath("parked_thread"));
  std::string ready = target.WaitForLine("ready");
  pid_t reader = PidAfter(ready, "reader");
  {
    auto attachment = ProcessAttachment::Seize(target.pid());
    // The target announces readiness just before read(); catch the reader once it is inside.
    bool parked = false;
    for (int attempt = 0; attempt < 1000 && !parked; ++attempt) {
      attachment.StopAll();
      parked = InSystemCall(attachment, reader, SYS_read);
      if (!parked) {
        attachment.ResumeAll();
        attachment.RunFor(std::chrono::milliseconds(2));
      }
    }
    REQUIRE(parked);
    CHECK(ReadThreadName(target.pid(), reader) == "reader");
    // read() on a pipe returns -ERESTARTSYS to the signal path when interrupted.
    CHECK(static_cast<long>(FindThread(attachment, reader)->regs.rax) == -512);
    attachment.ResumeAll();
    for (int cycle = 0; cycle < 50; ++cycle) {
      attachment.RunFor(std::chrono::milliseconds(1));
      attachment.StopAll();
      // Restarted, and blocked in it again: no data has arrived.
      CHECK(InSystemCall(attachment, reader, SYS_read));
      attachment.ResumeAll();
    }
  }
  REQUIRE(WaitUntilEveryThread(target.pid(), Untraced));
  kill(target.pid(), SIGUSR1);
  // Lines come in order: an early nanosleep wakeup or a failed read would be printed first.
  std::string line = target.ReadLine();
  CHECK(line == "got message-42");
}
