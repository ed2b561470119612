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

// libcare's idea, with single steps instead of return breakpoints: when every busy thread is
// *executing* guarded code (innermost frame) with a reliable stack, let just those threads run,
// one instruction at a time, until each has returned out of it — usually a handful of
// instructions in a hot leaf function, which a stop of everything rarely finds all threads
// outside of. The other threads never move, so their verdict stands.
bool StepBusyThreadsOut(ProcessAttachment& process, StackWalker& walker,
                        const std::vector<GuardedCode>& guarded, const SafetyVerdict& verdict) {
  constexpr size_t kMaxSteps = 2000;
  constexpr auto kTimePerThread = std::chrono::microseconds(2000);
  for (const auto& busy : verdict.busy)
    if (busy.unreliable || busy.never_returns || busy.stack.empty() ||
        !FindGuardedCode(guarded, busy.stack.front()))
      return false;
  for (const auto& busy : verdict.busy) {
    uint64_t start_sp = 0;
    for (const auto& t : process.threads())
      if (t.tid == busy.tid) start_sp = t.regs.rsp;
    bool out = process.StepThreadUntil(busy.tid, kMaxSteps, kTimePerThread,
                                       [&](const user_regs_struct& regs) {
      // Cheap filter first: still in guarded code, or deeper than where it started (a call out
      // of the guarded function, which will return into it).
      if (FindGuardedCode(guarded, RemotePtr(regs.rip)) || regs.rsp < start_sp) return false;
      walker.ForgetCachedMemory();  // the step wrote its stack
      Stack stack = walker.Walk(busy.tid, regs);
      return stack.reliable && !FindGuardedFrame(stack, guarded);
    });
    if (!out) return false;
  }
  return true;
}

}  // namespace

void RunWhenQuiescent(ProcessAttachment& process, StackWalker& walker,
                      const std::vector<GuardedCode>& guarded,
                      std::chrono::steady_clock::time_point deadline, const std::string& what,
                      const std::function<void()>& in_stop, QuiescenceStats& stats) {
  // Back-off: short at first (a vCPU leaves a hot function within microseconds), growing so a
  // thread parked for long is not stopped thousands of times.
  auto backoff = std::chrono::microseconds(500);
  // Every thread waits while the last one is being stopped, so a thread that cannot stop (an
  // uninterruptible sleep, a vfork parent) must not hold the others for long: start with a short
  // limit and widen it only for a target that simply has many threads to stop.
  auto stop_limit = std::chrono::microseconds(100'000);
  auto back_off = [&](std::chrono::steady_clock::time_point now) {
    process.RunFor(std::min<std::chrono::microseconds>(
        backoff, std::chrono::duration_cast<std::chrono::microseconds>(deadline - now)));
    backoff = std::min(backoff * 2, std::chrono::microseconds(50'000));
  };
  for (;;) {
    ++stats.attempts;
    try {
      process.StopAll(stop_limit);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kBusy) throw;
      stats.pause_us += Micros(process.last_pause());
      auto now = std::chrono::steady_clock::now();
      if (now >= deadline) {
        throw Error(ErrorCode::kBusy, "pid " + std::to_string(process.pid()) + ": cannot " + what +
                                          " after " + std::to_string(stats.attempts) +
                                          " attempts: " + e.what());
      }
      back_off(now);
      stop_limit = std::min<std::chrono::microseconds>(stop_limit * 2, ProcessAttachment::kDefaultStopLimit);
      continue;
    }
    walker.ForgetCachedMemory();  // the target ran since the last stop
    SafetyVerdict verdict = CheckThreads(process, walker, guarded);
    if (verdict.safe() || StepBusyThreadsOut(process, walker, guarded, verdict)) {
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
    back_off(now);
  }
}

}  // namespace hotpatch
