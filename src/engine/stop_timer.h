// Splits the pause of the stop in which the engine acts into PauseBreakdown's phases (issue 6),
// from around the action that runs inside RunWhenQuiescent or a plain stop:
//  - ProcessAttachment's own clock gives the whole pause, first PTRACE_INTERRUPT to last
//    PTRACE_CONT (last_pause); read right after the stop ended, it dates the first interrupt;
//  - the walker gives the time its walks took since the stop began (the safety check);
//  - the timer notes when the action began and ended.
// stop = interrupt -> action begins, minus the walks; unwind = the walks; write = the action;
// resume = action ends -> the stop's end. They add up to the pause.
#pragma once

#include <chrono>

#include "engine/engine.h"

namespace hotpatch {

class ProcessAttachment;
class StackWalker;

class ActionStopTimer {
 public:
  // `walker` is null for a stop without a safety check.
  ActionStopTimer(const ProcessAttachment& process, const StackWalker* walker)
      : process_(process), walker_(walker) {}

  // Call first and last thing inside the stop.
  void ActionBegins();
  void ActionEnds();
  // Call right after the stop ended (the process was resumed); adds its phases to `breakdown`.
  // Adds nothing when the action did not run to its end.
  void StopEnded(PauseBreakdown& breakdown);

 private:
  using Clock = std::chrono::steady_clock;
  const ProcessAttachment& process_;
  const StackWalker* walker_;
  Clock::time_point action_began_;
  Clock::time_point action_ended_;
  std::chrono::nanoseconds walks_{0};
  bool complete_ = false;
};

}  // namespace hotpatch
