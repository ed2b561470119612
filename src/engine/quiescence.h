// "Stop, check, act or back off" (design §2 step 3): stop every thread, walk every stack; when no
// thread is in guarded code, run the action while still stopped; otherwise resume at once, let
// the target run for a growing back-off, and try again until the deadline.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "engine/safety_check.h"

namespace hotpatch {

class ProcessAttachment;
class StackWalker;

struct QuiescenceStats {
  int attempts = 0;
  uint64_t pause_us = 0;  // summed over every stop, first PTRACE_INTERRUPT to last PTRACE_CONT
};

// Runs `in_stop` once, with every thread stopped and none in `guarded`, then resumes. Throws
// Error(kBusy) at `deadline`, naming `what` and the busy threads, functions and stacks.
// Adds to `stats` whether it succeeds or not.
void RunWhenQuiescent(ProcessAttachment& process, StackWalker& walker,
                      const std::vector<GuardedCode>& guarded,
                      std::chrono::steady_clock::time_point deadline, const std::string& what,
                      const std::function<void()>& in_stop, QuiescenceStats& stats);

}  // namespace hotpatch
