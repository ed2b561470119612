// Scenario (b) of issue 6: what a call of a patched function costs more than a call of the same
// code as built. The target measures itself (bench_call.c: a loop of calls timed with
// clock_gettime), alternately unpatched and patched with a bundle of identical code, so the only
// difference is the entry's jmp rel32 to the replacement (and where the code sits).
#pragma once

#include "bench_results.h"

namespace hotpatch::bench {

// Sets results.call_overhead_ns (patched minus native, best run of each) and notes.
void RunCallOverheadBenchmark(int rounds, BenchResults& results);

}  // namespace hotpatch::bench
