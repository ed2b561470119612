// Scenario (a) of issue 6: the pause a one-function patch costs the target, for 1, 8, 64 and 256
// threads under both loads, next to the floor measured on the same process in the same run.
#pragma once

#include <vector>

#include "bench_results.h"

namespace hotpatch::bench {

struct PauseOptions {
  std::vector<int> thread_counts{1, 8, 64, 256};
  std::vector<std::string> loads{"busy", "idle"};
  int cycles = 50;            // applies (and as many reverts) per point; floor cycles likewise
  int unboosted_cycles = 20;  // the same with ApplyOptions::scheduling_boost off
  // From this many threads on, a tenth of a second per busy stop: fewer cycles keep the whole run
  // to minutes (the median of 20 is as stable there as that of 50 at 8 threads).
  int many_threads = 256;
  int many_threads_cycles = 20;
  int many_threads_unboosted_cycles = 5;  // a second or more per unboosted busy stop
};

// Appends one PausePoint per (threads, load) to results.pause and its extras to results.notes.
void RunPauseBenchmark(const PauseOptions& options, BenchResults& results);

}  // namespace hotpatch::bench
