#include "engine/stop_timer.h"

#include <algorithm>

#include "process/process_attachment.h"
#include "unwind/stack_walker.h"

namespace hotpatch {

namespace {

uint64_t Micros(std::chrono::nanoseconds ns) {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::max(ns, {})).count());
}

}  // namespace

void ActionStopTimer::ActionBegins() {
  complete_ = false;
  walks_ = walker_ ? walker_->walk_time_since_forget() : std::chrono::nanoseconds(0);
  action_began_ = Clock::now();
}

void ActionStopTimer::ActionEnds() {
  action_ended_ = Clock::now();
  complete_ = true;
}

void ActionStopTimer::StopEnded(PauseBreakdown& breakdown) {
  if (!complete_) return;
  complete_ = false;
  auto ended = Clock::now();
  auto interrupted = ended - process_.last_pause();
  breakdown.stop_us += Micros(action_began_ - interrupted - walks_);
  breakdown.unwind_us += Micros(walks_);
  breakdown.write_us += Micros(action_ended_ - action_began_);
  breakdown.resume_us += Micros(ended - action_ended_);
}

}  // namespace hotpatch
