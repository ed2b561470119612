// The stacks design §6 lists as easy to get wrong: inside the vDSO, inside a signal handler.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>

#include "process/remote_memory.h"
#include "seized_thread.h"
#include "support/target_process.h"
#include "unwind/code_modules.h"
#include "unwind/stack_walker.h"
#include "walk_checks.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

RemoteRange VdsoCode(pid_t pid, const RemoteMemory& memory) {
  unwind::StopMemoryCache cache(memory);
  for (const unwind::CodeModule& module : unwind::FindCodeModules(pid, cache))
    if (module.name == "[vdso]") {
      REQUIRE(module.has_cfi);
      return module.code.at(0);
    }
  FAIL("no [vdso] in the target's maps");
  return {};
}

}  // namespace

// With libunwind-ptrace's stock accessors 270 of 300 such stops ended in an error: the vDSO has
// no file for _UPT_find_proc_info to open.
TEST_CASE("a thread looping over clock_gettime walks reliably at every stop, also in the vDSO") {
  TargetProcess process(TargetPath("unwind_vdso_loop"));
  std::string line = process.WaitForLine("ready");
  TargetFunction clock_loop = FindTargetFunction("unwind_vdso_loop", line, "clock_loop");
  RemoteMemory memory(process.pid());
  RemoteRange vdso = VdsoCode(process.pid(), memory);
  StackWalker walker(process.pid(), memory);
  SeizedThread thread(static_cast<pid_t>(LineField(line, "tid")));

  constexpr int kStops = 300;
  int in_vdso = 0;
  std::chrono::nanoseconds walking{0};
  for (int stop = 0; stop < kStops; ++stop) {
    thread.Interrupt();
    user_regs_struct regs = thread.Registers();
    auto start = std::chrono::steady_clock::now();
    Stack stack = walker.Walk(thread.tid(), regs);
    walking += std::chrono::steady_clock::now() - start;
    INFO("stop " << stop << ": " << Describe(stack));
    REQUIRE(stack.reliable);
    REQUIRE(FrameIn(stack, clock_loop) >= 0);
    if (vdso.contains(stack.frames[0].pc)) ++in_vdso;
    walker.ForgetCachedMemory();
    thread.Continue();
    usleep(100 + stop % 7 * 30);  // vary where the next stop lands
  }
  std::printf(
      "unwind benchmark: %d stops of a clock_gettime loop, %d in the vDSO, %.1f us per walk "
      "(first walk of each stop)\n",
      kStops, in_vdso, std::chrono::duration<double, std::micro>(walking).count() / kStops);
  // The thread spends most of its time in the vDSO; none there would mean the test proved nothing.
  CHECK(in_vdso > 0);
}

TEST_CASE(
    "a thread inside a signal handler walks through the signal frame to the interrupted code") {
  TargetProcess process(TargetPath("unwind_signal_handler"));
  std::string line = process.WaitForLine("ready");
  TargetFunction interrupted =
      FindTargetFunction("unwind_signal_handler", line, "interrupted_function");
  TargetFunction handler = FindTargetFunction("unwind_signal_handler", line, "signal_handler");
  TargetFunction handler_blocks =
      FindTargetFunction("unwind_signal_handler", line, "handler_blocks");
  RemoteMemory memory(process.pid());
  StackWalker walker(process.pid(), memory);
  SeizedThread thread(static_cast<pid_t>(LineField(line, "tid")));

  // The handler printed "ready" just before calling handler_blocks: wait until it is parked.
  Stack stack;
  for (int attempt = 0; attempt < 200; ++attempt) {
    thread.Interrupt();
    stack = walker.Walk(thread.tid(), thread.Registers());
    INFO(Describe(stack));
    REQUIRE(stack.reliable);
    if (FrameIn(stack, handler_blocks) >= 0) break;
    walker.ForgetCachedMemory();
    thread.Continue();
    usleep(5000);
  }
  INFO(Describe(stack));
  REQUIRE(stack.reliable);
  int in_handler = FrameIn(stack, handler);
  REQUIRE(in_handler > FrameIn(stack, handler_blocks));
  int signal_frames = 0, signal_frame_at = -1;
  for (size_t i = 0; i < stack.frames.size(); ++i)
    if (stack.frames[i].signal_frame) {
      ++signal_frames;
      signal_frame_at = static_cast<int>(i);
    }
  REQUIRE(signal_frames == 1);
  CHECK(signal_frame_at == in_handler + 1);
  // The interrupted function is right below, with the exact pc it will resume at.
  const Frame& resumed = stack.frames.at(signal_frame_at + 1);
  CHECK_FALSE(resumed.pc_is_return_address);
  CHECK(interrupted.extent.contains(resumed.pc));
  CHECK(FrameIn(stack, interrupted) == signal_frame_at + 1);
}
