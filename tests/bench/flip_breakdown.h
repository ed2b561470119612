// Where the time of one stop goes, measured from outside the engine: the engine reports only the
// total (pause_us). This reproduces the engine's stop with the same building blocks it uses —
// ProcessAttachment::StopAll, a StackWalker walk of every thread, the writes of a one-function
// flip, ProcessAttachment::ResumeAll — and times each phase.
//
// The writes are those of RunWhenQuiescent's action for one function: the entry to the gate, the
// commit flag, the entry to the replacement, the registry record; each a /proc/PID/mem write read
// back (WriteAndVerify). They write the bytes already there at `entry`, so the target is unchanged.
// The registry commit of the engine is larger than 5 bytes; this is a lower bound.
#pragma once

#include <sys/types.h>

#include <vector>

#include "base/remote_ptr.h"

namespace hotpatch::bench {

struct FlipPhases {
  // Per cycle, microseconds.
  std::vector<double> stop_us;    // first PTRACE_INTERRUPT -> every thread stopped, registers read
  std::vector<double> unwind_us;  // every thread's stack walked
  std::vector<double> write_us;   // the flip's writes with read-back
  std::vector<double> resume_us;  // every thread continued
  uint64_t frames = 0;            // walked, over all cycles
  uint64_t pages_read = 0;        // by the walker's cache, over all cycles
};

// With `boost_while_stopping`, StopAll uses ProcessAttachment's SCHED_FIFO boost of the threads not
// yet stopped (src/process/scheduling_boost.h), which the engine does not turn on yet.
FlipPhases MeasureFlipPhases(pid_t pid, RemotePtr entry, int cycles,
                             bool boost_while_stopping = false);

}  // namespace hotpatch::bench
