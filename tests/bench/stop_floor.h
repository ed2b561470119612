// The floor of the pause: what a bare stop and resume of every thread costs, with nothing done
// inside the stop. Measured exactly as issue 6's table was: seize every thread once, then per
// cycle PTRACE_INTERRUPT all, wait for all, PTRACE_CONT all. The engine's pause can only be
// judged against this number measured on the same threads in the same run.
#pragma once

#include <sys/types.h>

#include <vector>

namespace hotpatch::bench {

struct FloorOptions {
  int cycles = 50;
  // Raise threads a WNOHANG wait does not find stopped to SCHED_FIFO 1 (scheduling_boost.h).
  bool boost_unstopped = false;
  // Run the tracer thread itself at SCHED_FIFO 2 for the whole cycle: otherwise each busy thread
  // that PTRACE_CONT makes runnable may preempt the tracer (wake-up preemption), and resuming 8
  // busy threads on 2 loaded cores takes milliseconds.
  bool boost_tracer = false;
};

struct FloorCycle {
  double stop_us = 0;   // first PTRACE_INTERRUPT -> every thread stopped
  double pause_us = 0;  // first PTRACE_INTERRUPT -> last PTRACE_CONT
};

// One entry per cycle, in microseconds. The target's
// threads must all exist already (clones are not followed); it must have no other tracer, and is
// left running and detached.
std::vector<FloorCycle> MeasureStopFloor(pid_t pid, const FloorOptions& options);

}  // namespace hotpatch::bench
