#include "unwind/stack_walker.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>

#include "process/mapping_query.h"
#include "process/maps.h"
#include "process/remote_memory.h"
#include "seized_thread.h"
#include "support/target_process.h"
#include "unwind/code_modules.h"
#include "walk_checks.h"

using namespace hotpatch;
using namespace hotpatch::test;

namespace {

struct DeepCallsTarget {
  TargetProcess process{TargetPath("unwind_deep_calls")};
  std::string line = process.WaitForLine("ready");
  pid_t deep_tid = static_cast<pid_t>(LineField(line, "deep_tid"));
  pid_t entry_tid = static_cast<pid_t>(LineField(line, "entry_tid"));
  TargetFunction f1 = FindTargetFunction("unwind_deep_calls", line, "f1");
  TargetFunction f2 = FindTargetFunction("unwind_deep_calls", line, "f2");
  TargetFunction f3 = FindTargetFunction("unwind_deep_calls", line, "f3");
  TargetFunction breakpoint_target =
      FindTargetFunction("unwind_deep_calls", line, "breakpoint_target");
  TargetFunction entry_caller = FindTargetFunction("unwind_deep_calls", line, "entry_caller");
};

// Stops the thread until it is parked in `function` (it may still be on its way there), and
// returns that stack. Every stop on the way must walk reliably too.
Stack StopInside(StackWalker& walker, SeizedThread& thread, const TargetFunction& function) {
  for (int attempt = 0;; ++attempt) {
    thread.Interrupt();
    Stack stack = walker.Walk(thread.tid(), thread.Registers());
    INFO(Describe(stack));
    REQUIRE(stack.reliable);
    if (FrameIn(stack, function) >= 0 || attempt == 200) return stack;
    walker.ForgetCachedMemory();
    thread.Continue();
    usleep(5000);
  }
}

}  // namespace

TEST_CASE("a thread blocked several calls deep walks reliably through each caller") {
  DeepCallsTarget target;
  RemoteMemory memory(target.process.pid());
  StackWalker walker(target.process.pid(), memory);
  SeizedThread thread(target.deep_tid);
  Stack stack = StopInside(walker, thread, target.f3);
  INFO(Describe(stack));
  REQUIRE(stack.reliable);
  CHECK(stack.unreliable_reason.empty());
  int in_f3 = FrameIn(stack, target.f3);
  REQUIRE(in_f3 >= 1);  // frame 0 is read() in libc
  CHECK(FrameIn(stack, target.f2) == in_f3 + 1);
  CHECK(FrameIn(stack, target.f1) == in_f3 + 2);
  CHECK_FALSE(stack.frames[0].pc_is_return_address);
  for (size_t i = 1; i < stack.frames.size(); ++i) CHECK(stack.frames[i].pc_is_return_address);
  for (size_t i = 1; i < stack.frames.size(); ++i)
    CHECK(stack.frames[i].sp > stack.frames[i - 1].sp);
  CHECK(stack.frames[0].sp.value() == thread.Registers().rsp);

  // Benchmark number (not asserted): walks of the same stopped thread, cold then warm caches.
  constexpr int kWalks = 200;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kWalks; ++i) {
    walker.ForgetCachedMemory();
    REQUIRE(walker.Walk(thread.tid(), thread.Registers()).reliable);
  }
  auto cold = std::chrono::steady_clock::now() - start;
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < kWalks; ++i) REQUIRE(walker.Walk(thread.tid(), thread.Registers()).reliable);
  auto warm = std::chrono::steady_clock::now() - start;
  std::printf(
      "unwind benchmark: %zu-frame stack: %.1f us per walk after a resume (maps rescan, memory "
      "cache cold), %.1f us per walk within one stop\n",
      stack.frames.size(), std::chrono::duration<double, std::micro>(cold).count() / kWalks,
      std::chrono::duration<double, std::micro>(warm).count() / kWalks);
}

TEST_CASE("a thread stopped at a function's first instruction walks reliably") {
  DeepCallsTarget target;
  RemoteMemory memory(target.process.pid());
  StackWalker walker(target.process.pid(), memory);
  SeizedThread thread(target.entry_tid);
  // An int3 at the entry: the thread traps with rip one past it; we put rip back on the entry,
  // exactly as if the thread had been stopped before executing its first instruction.
  RemotePtr entry = target.breakpoint_target.extent.begin;
  uint8_t original = memory.ReadValue<uint8_t>(entry);
  memory.WriteValue<uint8_t>(entry, 0xcc);
  int status = thread.WaitForStop();
  memory.WriteValue<uint8_t>(entry, original);
  REQUIRE(WSTOPSIG(status) == SIGTRAP);
  user_regs_struct regs = thread.Registers();
  REQUIRE(regs.rip == entry.value() + 1);
  regs.rip = entry.value();
  thread.SetRegisters(regs);  // the detach must not resume after the restored byte

  Stack stack = walker.Walk(thread.tid(), regs);
  INFO(Describe(stack));
  REQUIRE(stack.reliable);
  CHECK(stack.frames[0].pc == entry);
  CHECK(FrameIn(stack, target.entry_caller) == 1);

  // breakpoint_target is a leaf that never touches the stack (GCC omits its frame pointer).
  SECTION("also when the function is patch code without CFI that leaves the stack alone") {
    {
      walker.AddCodeRangeWithoutCfi(target.breakpoint_target.extent,
                                    CfiFreeRule::kReturnAddressAtSp);
      Stack by_rule = walker.Walk(thread.tid(), regs);
      INFO(Describe(by_rule));
      REQUIRE(by_rule.reliable);
      REQUIRE(by_rule.frames.size() == stack.frames.size());
      for (size_t i = 0; i < stack.frames.size(); ++i) {
        CHECK(by_rule.frames[i].pc == stack.frames[i].pc);
        CHECK(by_rule.frames[i].sp == stack.frames[i].sp);
      }
      walker.RemoveCodeRange(target.breakpoint_target.extent);
    }
  }
}

TEST_CASE("frames in patch code without CFI unwind by the frame-pointer rule") {
  DeepCallsTarget target;
  RemoteMemory memory(target.process.pid());
  StackWalker walker(target.process.pid(), memory);
  SeizedThread thread(target.deep_tid);
  Stack with_cfi = StopInside(walker, thread, target.f3);
  REQUIRE(FrameIn(with_cfi, target.f2) > 0);

  // f2 is past its prologue (it is calling f3): rbp-based rule gives the same caller.
  walker.AddCodeRangeWithoutCfi(target.f2.extent, CfiFreeRule::kFramePointer);
  Stack by_rule = walker.Walk(thread.tid(), thread.Registers());
  INFO(Describe(with_cfi) + "\nby rule:\n" + Describe(by_rule));
  REQUIRE(by_rule.reliable);
  REQUIRE(by_rule.frames.size() == with_cfi.frames.size());
  for (size_t i = 0; i < with_cfi.frames.size(); ++i) {
    CHECK(by_rule.frames[i].pc == with_cfi.frames[i].pc);
    CHECK(by_rule.frames[i].sp == with_cfi.frames[i].sp);
  }
  walker.RemoveCodeRange(target.f2.extent);

  // The wrong rule for that code (f2 has pushed rbp, so [rsp] is not its return address) must
  // not produce a "reliable" stack.
  walker.AddCodeRangeWithoutCfi(target.f2.extent, CfiFreeRule::kReturnAddressAtSp);
  Stack wrong = walker.Walk(thread.tid(), thread.Registers());
  INFO(Describe(wrong));
  CHECK_FALSE(wrong.reliable);
}

TEST_CASE("a corrupted return address makes the stack unreliable, never safe") {
  struct Corruption {
    const char* mode;
    const char* reason;
  };
  for (Corruption corruption : {Corruption{"corrupt-zero", "pc 0x0 "},
                                Corruption{"corrupt-garbage", "outside every mapped module"}}) {
    const char* mode = corruption.mode;
    INFO(mode);
    TargetProcess process(TargetPath("unwind_deep_calls"), {mode});
    std::string line = process.WaitForLine("ready");
    TargetFunction f3 = FindTargetFunction("unwind_deep_calls", line, "f3");
    RemoteMemory memory(process.pid());
    StackWalker walker(process.pid(), memory);
    SeizedThread thread(static_cast<pid_t>(LineField(line, "deep_tid")));
    Stack stack;
    // Until the thread is inside f3 (past the corruption), any stop must be reliable; there, not.
    for (int attempt = 0; attempt < 200; ++attempt) {
      thread.Interrupt();
      stack = walker.Walk(thread.tid(), thread.Registers());
      if (!stack.reliable) break;
      walker.ForgetCachedMemory();
      thread.Continue();
      usleep(5000);
    }
    INFO(Describe(stack));
    CHECK_FALSE(stack.reliable);
    CHECK(stack.unreliable_reason.find(corruption.reason) != std::string::npos);
    CHECK(FrameIn(stack, f3) >= 0);
  }
}

TEST_CASE("a thread in a main loop that never returns reports the loop's frame") {
  TargetProcess process(TargetPath("never_returns"));
  std::string line = process.WaitForLine("ready");
  TargetFunction main_loop = FindTargetFunction("never_returns", line, "main_loop");
  RemoteMemory memory(process.pid());
  StackWalker walker(process.pid(), memory);
  SeizedThread thread(static_cast<pid_t>(LineField(line, "tid")));
  for (int stop = 0; stop < 20; ++stop) {
    thread.Interrupt();
    Stack stack = walker.Walk(thread.tid(), thread.Registers());
    INFO(Describe(stack));
    REQUIRE(stack.reliable);
    CHECK(FrameIn(stack, main_loop) >= 0);
    walker.ForgetCachedMemory();
    thread.Continue();
    usleep(500);
  }
}

TEST_CASE("patch code with CFI the engine wrote into the target unwinds by that CFI") {
  DeepCallsTarget target;
  RemoteMemory memory(target.process.pid());
  StackWalker walker(target.process.pid(), memory);
  SeizedThread thread(target.deep_tid);
  Stack with_module_cfi = StopInside(walker, thread, target.f3);

  // Stand-in for CFI written by the engine: the executable's own .eh_frame_hdr, in target memory.
  unwind::StopMemoryCache cache(memory);
  RemotePtr eh_frame_hdr;
  for (const unwind::CodeModule& module : unwind::FindCodeModules(target.process.pid(), cache))
    for (const RemoteRange& code : module.code)
      if (code.contains(target.f2.extent.begin)) eh_frame_hdr = module.cfi.section;
  REQUIRE_FALSE(eh_frame_hdr.is_null());

  walker.AddCodeRangeWithEhFrameHdr(target.f2.extent, eh_frame_hdr);
  Stack by_added_cfi = walker.Walk(thread.tid(), thread.Registers());
  INFO(Describe(with_module_cfi) + "\nwith added CFI:\n" + Describe(by_added_cfi));
  REQUIRE(by_added_cfi.reliable);
  REQUIRE(by_added_cfi.frames.size() == with_module_cfi.frames.size());
  for (size_t i = 0; i < with_module_cfi.frames.size(); ++i)
    CHECK(by_added_cfi.frames[i].sp == with_module_cfi.frames[i].sp);
  walker.RemoveCodeRange(target.f2.extent);

  // A range whose "CFI" is not an .eh_frame_hdr: frames there cannot be unwound.
  walker.AddCodeRangeWithEhFrameHdr(target.f2.extent, target.f2.extent.begin);
  Stack bad = walker.Walk(thread.tid(), thread.Registers());
  INFO(Describe(bad));
  CHECK_FALSE(bad.reliable);
  CHECK(bad.unreliable_reason.find("no CFI") != std::string::npos);
}

TEST_CASE("the main thread walks reliably down to _start") {
  TargetProcess process(TargetPath("never_returns"));
  process.WaitForLine("ready");
  RemoteMemory memory(process.pid());
  StackWalker walker(process.pid(), memory);
  SeizedThread main_thread(process.pid());  // blocked in pthread_join
  main_thread.Interrupt();
  Stack stack = walker.Walk(main_thread.tid(), main_thread.Registers());
  INFO(Describe(stack));
  CHECK(stack.reliable);
  CHECK(stack.frames.size() >= 3);  // pthread_join's innards, main, __libc_start_call_main, _start
}

TEST_CASE("a stop confirms the modules learned while running, and finds code loaded since") {
  TargetProcess process(TargetPath("dlopen_late"));
  process.WaitForLine("ready");
  pid_t pid = process.pid();
  RemoteMemory memory(pid);
  StackWalker walker(pid, memory);
  walker.LearnModulesWhileRunning();
  uint64_t reads = walker.statistics().maps_reads;
  CHECK(reads == 1);
  bool by_query = MappingQuery(pid).TryFind(ReadMappings(pid).front().range.begin).has_value();
  SeizedThread main_thread(pid);  // in sigwait, in libc, called from main

  main_thread.Interrupt();
  Stack stack = walker.Walk(main_thread.tid(), main_thread.Registers());
  INFO(Describe(stack));
  REQUIRE(stack.reliable);
  // With PROCMAP_QUERY (Linux 6.11) the stop confirms each mapping a frame is in; without it, it
  // reads the maps as every stop used to.
  CHECK(walker.statistics().maps_reads == reads + (by_query ? 0 : 1));
  reads = walker.statistics().maps_reads;
  walker.ForgetCachedMemory();
  main_thread.Continue();

  // dlopen, then park in the library: its frame is in no module the walker learned.
  REQUIRE(kill(pid, SIGUSR1) == 0);
  process.WaitForLine("loaded");
  RemoteRange payload_code;
  for (const Mapping& m : ReadMappings(pid))
    if (m.executable && m.path.ends_with("/libdlopen_payload.so")) payload_code = m.range;
  REQUIRE(payload_code.size() > 0);
  auto in_payload = [&](const Stack& s) {
    for (const Frame& frame : s.frames)
      if (payload_code.contains(frame.LookupPc())) return true;
    return false;
  };
  for (int attempt = 0;; ++attempt) {
    main_thread.Interrupt();
    stack = walker.Walk(main_thread.tid(), main_thread.Registers());
    INFO(Describe(stack));
    REQUIRE(stack.reliable);
    if (in_payload(stack) || attempt == 200) break;
    walker.ForgetCachedMemory();
    main_thread.Continue();
    usleep(5000);
  }
  INFO(Describe(stack));
  CHECK(in_payload(stack));
  CHECK(walker.statistics().maps_reads > reads);  // the library was unknown: read and scanned
  reads = walker.statistics().maps_reads;

  // Known from then on: the next stop only confirms again.
  walker.ForgetCachedMemory();
  main_thread.Continue();
  usleep(2000);
  main_thread.Interrupt();
  stack = walker.Walk(main_thread.tid(), main_thread.Registers());
  CHECK(stack.reliable);
  CHECK(in_payload(stack));
  CHECK(walker.statistics().maps_reads == reads + (by_query ? 0 : 1));
}
