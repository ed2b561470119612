#include "engine/quiescence.h"

#include <algorithm>

#include "base/error.h"
#include "process/process_attachment.h"
#include "unwind/stack_walker.h"

namespace hotpatch {

namespace {

uint64_t Micros(std::chrono::nanoseconds ns) {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(ns).count());
}

}  // namespace

void RunWhenQuiescent(ProcessAttachment& process, StackWalker& walker,
                      const std::vector<GuardedCode>& guarded,
                      std::chrono::steady_clock::time_point deadline, const std::string& what,
                      const std::function<void()>& in_stop, QuiescenceStats& stats) {
  // Back-off: short at first (a vCPU leaves a hot function within microseconds), growing so a
  // thread parked for long is not stopped thousands of times.
  auto backoff = std::chrono::microseconds(500);
  for (;;) {
    ++stats.attempts;
    process.StopAll();
    walker.ForgetCachedMemory();  // the target ran since the last stop
    SafetyVerdict verdict = CheckThreads(process, walker, guarded);
    if (verdict.safe()) {
      in_stop();
      process.ResumeAll();
      stats.pause_us += Micros(process.last_pause());
      return;
    }
    process.ResumeAll();
    stats.pause_us += Micros(process.last_pause());
    auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      bool never_returns = std::any_of(verdict.busy.begin(), verdict.busy.end(),
                                       [](const BusyThread& b) { return b.never_returns; });
      throw Error(ErrorCode::kBusy,
                  "pid " + std::to_string(process.pid()) + ": cannot " + what + " after " +
                      std::to_string(stats.attempts) + " attempts" +
                      (never_returns ? "" : " before the deadline") + ": " + verdict.Describe());
    }
    auto sleep = std::min<std::chrono::microseconds>(
        backoff, std::chrono::duration_cast<std::chrono::microseconds>(deadline - now));
    process.RunFor(sleep);
    backoff = std::min(backoff * 2, std::chrono::microseconds(50'000));
  }
}

}  // namespace hotpatch
