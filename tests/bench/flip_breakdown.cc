#include "flip_breakdown.h"

#include <chrono>

#include "process/process_attachment.h"
#include "unwind/stack_walker.h"

namespace hotpatch::bench {

namespace {

using Clock = std::chrono::steady_clock;

double MicrosSince(Clock::time_point begin) {
  return std::chrono::duration<double, std::micro>(Clock::now() - begin).count();
}

// The number of WriteAndVerify calls inside the engine's stop for a one-function patch
// (apply.cc: PointEntries to the gates, SetCommitFlag, PointEntries to the replacements,
// registry Commit).
constexpr int kFlipWrites = 4;

}  // namespace

FlipPhases MeasureFlipPhases(pid_t pid, RemotePtr entry, int cycles, bool boost_while_stopping) {
  ProcessAttachment process = ProcessAttachment::Seize(pid);
  process.set_boost_while_stopping(boost_while_stopping);
  StackWalker walker(pid, process.memory());
  std::vector<uint8_t> entry_bytes = process.memory().Read(entry, 5);
  FlipPhases phases;
  for (int cycle = 0; cycle < cycles; ++cycle) {
    process.StopAll();
    phases.stop_us.push_back(
        std::chrono::duration<double, std::micro>(process.last_stop_latency()).count());

    auto unwind_began = Clock::now();
    walker.ForgetCachedMemory();
    for (const auto& thread : process.threads())
      phases.frames += walker.Walk(thread.tid, thread.regs).frames.size();
    phases.unwind_us.push_back(MicrosSince(unwind_began));

    auto write_began = Clock::now();
    for (int i = 0; i < kFlipWrites; ++i) {
      process.memory().Write(entry, entry_bytes);
      (void)process.memory().Read(entry, entry_bytes.size());
    }
    phases.write_us.push_back(MicrosSince(write_began));

    auto resume_began = Clock::now();
    process.ResumeAll();
    phases.resume_us.push_back(MicrosSince(resume_began));
    process.RunFor(std::chrono::milliseconds(2));
  }
  phases.pages_read = walker.statistics().pages_read;
  return phases;
}

}  // namespace hotpatch::bench
