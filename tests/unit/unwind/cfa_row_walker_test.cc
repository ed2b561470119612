// The row walker against libunwind, stack by stack: wherever the row walker answers, its answer
// must be libunwind's (same frames, pcs, stack pointers, flags), and it must answer the common
// stacks — or the fast path would be dead code, and this test would prove nothing.
#include "unwind/cfa_row_walker.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "engine/tracer_priority.h"
#include "process/process_attachment.h"
#include "support/target_process.h"
#include "unwind/stack_walker.h"
#include "walk_checks.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

bool SameFrames(const Stack& a, const Stack& b) {
  if (a.frames.size() != b.frames.size()) return false;
  for (size_t i = 0; i < a.frames.size(); ++i) {
    const Frame& x = a.frames[i];
    const Frame& y = b.frames[i];
    if (x.pc != y.pc || x.sp != y.sp || x.signal_frame != y.signal_frame ||
        x.pc_is_return_address != y.pc_is_return_address)
      return false;
  }
  return true;
}

struct Comparison {
  int walks = 0;
  int by_rows = 0;
};

// Stops every thread of `pid` `stops` times, at varying moments, and walks each thread both ways.
Comparison CompareAtStops(pid_t pid, int stops) {
  ProcessAttachment process = ProcessAttachment::Seize(pid);
  StackWalker walker(pid, process.memory());
  walker.LearnModulesWhileRunning();
  Comparison comparison;
  for (int stop = 0; stop < stops; ++stop) {
    process.StopAll();
    walker.ForgetCachedMemory();
    for (const StoppedThread& thread : process.threads()) {
      Stack by_libunwind = walker.WalkWithLibunwind(thread.tid, thread.regs);
      std::optional<Stack> by_rows = walker.TryWalkByCfaRows(thread.tid, thread.regs);
      INFO("stop " << stop << "\nlibunwind: " << Describe(by_libunwind)
                   << "\nrows: " << (by_rows ? Describe(*by_rows) : std::string("declined")));
      ++comparison.walks;
      if (!by_rows) continue;
      ++comparison.by_rows;
      REQUIRE(by_rows->reliable);
      REQUIRE(by_libunwind.reliable);
      REQUIRE(SameFrames(*by_rows, by_libunwind));
      // And Walk, which picks the row walker here, gives that stack.
      REQUIRE(SameFrames(walker.Walk(thread.tid, thread.regs), by_libunwind));
    }
    process.ResumeAll();
    usleep(200 + stop % 11 * 97);  // vary where the next stop lands
  }
  return comparison;
}

// Runs `target` and compares the two unwinders at `stops` stops. Besides agreeing, the row walker
// must answer nearly every walk of these ordinary programs (598 of 600 busy walks when written).
void CheckAgreement(const std::string& target, const std::vector<std::string>& args, int stops) {
  TargetProcess process(TargetPath(target), args);
  process.WaitForLine("ready");
  Comparison comparison = CompareAtStops(process.pid(), stops);
  INFO(comparison.by_rows << " of " << comparison.walks << " walks by rows");
  CHECK(comparison.by_rows * 10 >= comparison.walks * 9);
}

}  // namespace

// Busy threads are stopped at any instruction of their loop and its callee: prologues, epilogues,
// every row of the functions' CFI, not only at call sites.
TEST_CASE("the row walker agrees with libunwind on busy threads stopped anywhere") {
  CheckAgreement("bench_threads", {"3", "busy"}, 150);
}

// Sleeping threads are in libc: clock_nanosleep, sigwait, the thread start code down to clone3.
TEST_CASE("the row walker agrees with libunwind on threads sleeping in libc") {
  CheckAgreement("bench_threads", {"3", "idle"}, 100);
}

// The vDSO's CFI is read from the target's memory, as every module's.
TEST_CASE("the row walker agrees with libunwind in the vDSO") {
  CheckAgreement("unwind_vdso_loop", {}, 150);
}

TEST_CASE("the row walker agrees with libunwind several calls deep") {
  CheckAgreement("unwind_deep_calls", {}, 50);
}

namespace {

// The number of the system call `tid` is blocked in: the first field of its
// /proc/PID/task/TID/syscall ("running" while it runs: -1 here).
long BlockedSyscall(pid_t pid, pid_t tid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/syscall");
  long number = -1;
  if (!(file >> number)) return -1;
  return number;
}

}  // namespace

// Most threads of a VM process sleep in the kernel. Their rows are parsed before the stop, from
// the stack pointer and pc /proc/PID/task/TID/syscall shows, so the stop parses none — and the
// stacks it then walks are still libunwind's.
TEST_CASE("the rows of threads blocked in the kernel are parsed before the stop, none inside it") {
  TargetProcess process(TargetPath("blocked_read"));  // main in sigwait, the reader in read
  std::string ready = process.WaitForLine("ready");
  pid_t reader = std::stoi(ready.substr(ready.find('=') + 1));
  // The main thread prints "ready" before it calls sigwait: learning in between would take the
  // rows of another pc (under ASan, once), and the stop would rightly parse sigwait's.
  for (int tries = 0; BlockedSyscall(process.pid(), process.pid()) != SYS_rt_sigtimedwait ||
                      BlockedSyscall(process.pid(), reader) != SYS_read;
       ++tries) {
    REQUIRE(tries < 5000);
    usleep(1000);
  }
  ProcessAttachment attachment = ProcessAttachment::Seize(process.pid());
  StackWalker walker(process.pid(), attachment.memory());
  // Learning is bounded in time (StackWalker::LearnModulesWhileRunning: 2 ms), and a slow build
  // (ASan, Debug: twice in the CI's asan stage) ran out of it after the first thread. Learning
  // again keeps what it learned and goes on, until it learns nothing new.
  uint64_t parsed_while_running = 0;
  for (int round = 0; round < 10; ++round) {
    walker.LearnModulesWhileRunning();
    uint64_t parsed = walker.statistics().cfa_rows_parsed;
    if (round > 0 && parsed == parsed_while_running) break;
    parsed_while_running = parsed;
  }
  CHECK(parsed_while_running >= 4);  // at least: read, the reader, start_thread, clone3

  attachment.StopAll();
  walker.ForgetCachedMemory();
  REQUIRE(attachment.threads().size() == 2);
  for (const StoppedThread& thread : attachment.threads()) {
    std::optional<Stack> by_rows = walker.TryWalkByCfaRows(thread.tid, thread.regs);
    Stack by_libunwind = walker.WalkWithLibunwind(thread.tid, thread.regs);
    INFO("libunwind: " << Describe(by_libunwind));
    REQUIRE(by_rows.has_value());
    CHECK(SameFrames(*by_rows, by_libunwind));
  }
  CHECK(walker.statistics().cfa_rows_parsed == parsed_while_running);

  // The counter counts: a walker that learned nothing while running parses them in the stop.
  StackWalker unprepared(process.pid(), attachment.memory());
  for (const StoppedThread& thread : attachment.threads())
    REQUIRE(unprepared.TryWalkByCfaRows(thread.tid, thread.regs).has_value());
  CHECK(unprepared.statistics().cfa_rows_parsed >= 4);
  attachment.ResumeAll();
}

// With many threads, WalkAll splits the walks of a stop over two cores, each with its own
// unwinder. The stacks must be those one walker gives, in the threads' order, and the second core
// must actually walk some (or the split would be dead code).
TEST_CASE("WalkAll on two cores gives every thread the stack one walker gives") {
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
    WARN("one CPU: WalkAll walks on one core, nothing to compare");  // Catch2 2.13 has no SKIP
    return;
  }
  TargetProcess target(TargetPath("bench_threads"), {"47", "idle"});  // 48 with main
  target.WaitForLine("ready");
  ProcessAttachment process = ProcessAttachment::Seize(target.pid());
  StackWalker on_two_cores(target.pid(), process.memory());
  StackWalker on_one_core(target.pid(), process.memory());
  on_two_cores.LearnModulesWhileRunning();
  uint64_t walked = 0;
  // At least 20 stops, and until the second core has walked some: on a loaded machine (ctest -j2)
  // it may not get a CPU within a stop's walks, and is then rightly not waited for.
  for (int stop = 0; stop < 20 || on_two_cores.statistics().walks_on_second_core == 0; ++stop) {
    REQUIRE(stop < 500);
    // As inside the engine's stop window (ScopedTracerPriority): the second core's thread gets
    // the caller's SCHED_FIFO, which moves it to a free CPU at once.
    ScopedTracerPriority as_in_the_engine(true);
    process.StopAll();
    on_two_cores.ForgetCachedMemory();
    on_one_core.ForgetCachedMemory();
    REQUIRE(process.threads().size() >= StackWalker::kThreadsWorthASecondCore);
    std::vector<Stack> stacks = on_two_cores.WalkAll(process.threads());
    REQUIRE(stacks.size() == process.threads().size());
    walked += stacks.size();
    for (size_t i = 0; i < stacks.size(); ++i) {
      const StoppedThread& thread = process.threads()[i];
      Stack alone = on_one_core.Walk(thread.tid, thread.regs);
      INFO("stop " << stop << " thread " << thread.tid << "\ntwo cores: " << Describe(stacks[i])
                   << "\none core: " << Describe(alone));
      CHECK(stacks[i].tid == thread.tid);
      CHECK(stacks[i].reliable == alone.reliable);
      CHECK(SameFrames(stacks[i], alone));
    }
    process.ResumeAll();
    usleep(300 + stop % 7 * 113);
  }
  StackWalker::Statistics statistics = on_two_cores.statistics();
  INFO(statistics.walks_on_second_core << " of " << statistics.walks
                                       << " walks on the second core");
  CHECK(statistics.walks == walked);
  CHECK(statistics.walks_on_second_core > 0);
  CHECK(statistics.walks_on_second_core < statistics.walks);
}

// A signal frame is libunwind's: the row walker declines the handler's thread, and Walk then
// gives libunwind's stack through the sigreturn frame.
TEST_CASE("the row walker leaves a thread inside a signal handler to libunwind") {
  TargetProcess process(TargetPath("unwind_signal_handler"));
  std::string line = process.WaitForLine("ready");
  TargetFunction handler_blocks =
      FindTargetFunction("unwind_signal_handler", line, "handler_blocks");
  auto tid = static_cast<pid_t>(LineField(line, "tid"));
  ProcessAttachment attachment = ProcessAttachment::Seize(process.pid());
  StackWalker walker(process.pid(), attachment.memory());
  walker.LearnModulesWhileRunning();
  for (int attempt = 0;; ++attempt) {
    attachment.StopAll();
    walker.ForgetCachedMemory();
    for (const StoppedThread& thread : attachment.threads()) {
      if (thread.tid != tid) continue;
      Stack by_libunwind = walker.WalkWithLibunwind(thread.tid, thread.regs);
      INFO(Describe(by_libunwind));
      REQUIRE(by_libunwind.reliable);
      if (FrameIn(by_libunwind, handler_blocks) < 0) continue;  // not parked yet
      CHECK_FALSE(walker.TryWalkByCfaRows(thread.tid, thread.regs).has_value());
      uint64_t by_rows_before = walker.statistics().walks_by_cfa_rows;
      Stack walked = walker.Walk(thread.tid, thread.regs);
      CHECK(walker.statistics().walks_by_cfa_rows == by_rows_before);
      CHECK(walked.reliable);
      CHECK(SameFrames(walked, by_libunwind));
      return;
    }
    attachment.ResumeAll();
    REQUIRE(attempt < 200);
    usleep(5000);
  }
}
