// System calls run inside the target by a borrowed thread.
#include "process/remote_syscall.h"

#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <catch2/catch.hpp>
#include <cstring>

#include "process/process_attachment.h"
#include "process/ptrace_request.h"
#include "support/target_process.h"
#include "thread_observation.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

const StoppedThread& ThreadOf(const ProcessAttachment& attachment, pid_t tid) {
  for (const auto& thread : attachment.threads()) {
    if (thread.tid == tid) return thread;
  }
  throw std::runtime_error("tid " + std::to_string(tid) + " not among the stopped threads");
}

// Stops the process with `tid` inside system call `number`; it may not have entered it yet.
void StopWithThreadInSystemCall(ProcessAttachment& attachment, pid_t tid, long number) {
  for (int attempt = 0; attempt < 1000; ++attempt) {
    attachment.StopAll();
    if (static_cast<long>(ThreadOf(attachment, tid).regs.orig_rax) == number) return;
    attachment.ResumeAll();
    attachment.RunFor(std::chrono::milliseconds(2));
  }
  FAIL("tid " << tid << " never entered system call " << number);
}

bool SameRegisters(const user_regs_struct& a, const user_regs_struct& b) {
  return std::memcmp(&a, &b, sizeof a) == 0;
}

}  // namespace

TEST_CASE("FindSyscallInstruction finds 0f 05 in the target") {
  TargetProcess target(TargetPath("blocked_read"));
  target.WaitForLine("ready");
  RemoteMemory memory(target.pid());
  RemotePtr instruction = FindSyscallInstruction(target.pid(), memory);
  auto bytes = memory.Read(instruction, 2);
  CHECK(bytes == std::vector<uint8_t>{0x0f, 0x05});
}

TEST_CASE("remote getpid, mmap and munmap in a thread blocked in read() leave the read intact") {
  TargetProcess target(TargetPath("blocked_read"));
  pid_t reader = PidAfter(target.WaitForLine("ready"), "reader");
  {
    auto attachment = ProcessAttachment::Seize(target.pid());
    StopWithThreadInSystemCall(attachment, reader, SYS_read);
    user_regs_struct before = ThreadOf(attachment, reader).regs;
    RemotePtr instruction = FindSyscallInstruction(target.pid(), attachment.memory());
    {
      RemoteSyscall call(attachment, reader, instruction);
      CHECK(call.Call(SYS_getpid) == target.pid());
      CHECK(call.Call(SYS_gettid) == reader);  // it really ran in the borrowed thread
      long page =
          call.Call(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
      REQUIRE(page > 0);
      CHECK(page % 4096 == 0);
      RemotePtr address(static_cast<uint64_t>(page));
      const std::array<uint8_t, 5> hello = {'h', 'e', 'l', 'l', 'o'};
      attachment.memory().Write(address, hello);
      CHECK(attachment.memory().Read(address, 5) ==
            std::vector<uint8_t>(hello.begin(), hello.end()));
      CHECK(call.Call(SYS_munmap, page, 4096) == 0);
      std::array<uint8_t, 1> byte{};
      CHECK(attachment.memory().TryRead(address, byte) == 0);  // unmapped in the target
      // Failures come back as -errno.
      CHECK(call.Call(SYS_munmap, page + 1, 4096) == -EINVAL);
    }
    // Every register is back, including the ones that make read() restart.
    CHECK(SameRegisters(PtraceGetRegisters(reader), before));
    attachment.ResumeAll();
    attachment.RunFor(std::chrono::milliseconds(5));
    attachment.StopAll();
    CHECK(static_cast<long>(ThreadOf(attachment, reader).regs.orig_rax) == SYS_read);
    attachment.ResumeAll();
  }
  REQUIRE(WaitUntilEveryThread(target.pid(), Untraced));
  kill(target.pid(), SIGUSR1);
  CHECK(target.ReadLine() == "got payload-1234");
}

TEST_CASE("a remote syscall in a busy thread leaves it computing correctly") {
  TargetProcess target(TargetPath("busy_threads"), {"2"});
  target.WaitForLine("ready");
  {
    auto attachment = ProcessAttachment::Seize(target.pid());
    RemotePtr instruction = FindSyscallInstruction(target.pid(), attachment.memory());
    for (int cycle = 0; cycle < 20; ++cycle) {
      attachment.StopAll();
      for (const auto& thread : attachment.threads()) {
        RemoteSyscall call(attachment, thread.tid, instruction);
        CHECK(call.Call(SYS_gettid) == thread.tid);
      }
      attachment.ResumeAll();
      attachment.RunFor(std::chrono::microseconds(500));
    }
  }
  REQUIRE(WaitUntilEveryThread(target.pid(), UntracedAndNotStopped));
  CHECK(NumberAfter(AskTarget(target, "counters"), "errors") == 0);
  CHECK(target.IsAlive());
}

TEST_CASE("a remote syscall in a SIGSTOPped process keeps it stopped") {
  TargetProcess target(TargetPath("busy_threads"), {"1"});
  target.WaitForLine("ready");
  kill(target.pid(), SIGSTOP);
  auto group_stopped = [](const TaskStatus& s) { return s.state == 'T' && s.tracer_pid == 0; };
  REQUIRE(WaitUntilEveryThread(target.pid(), group_stopped));
  {
    auto attachment = ProcessAttachment::Seize(target.pid());
    attachment.StopAll();
    RemotePtr instruction = FindSyscallInstruction(target.pid(), attachment.memory());
    {
      RemoteSyscall call(attachment, target.pid(), instruction);
      CHECK(call.Call(SYS_getpid) == target.pid());
    }
    attachment.ResumeAll();
    attachment.RunFor(std::chrono::milliseconds(20));
    // PTRACE_LISTEN held the thread: it did not run off.
    for (const auto& [tid, status] : ThreadStatuses(target.pid())) CHECK(status.state == 't');
  }
  INFO(DescribeThreads(target.pid()));
  REQUIRE(WaitUntilEveryThread(target.pid(), group_stopped));
  kill(target.pid(), SIGCONT);
  REQUIRE(WaitUntilEveryThread(target.pid(), UntracedAndNotStopped));
}
