// Scenario (c) of issue 6: `hotpatch-gen diff` on a generated program of 5,000 functions of which
// 10 changed. Only hotpatch-gen is timed; compiling the two trees is the user's build, not ours.
// Skipped (generate_s null, with a note) while hotpatch-gen has no diff command.
#pragma once

#include "bench_results.h"

namespace hotpatch::bench {

void RunGenerationBenchmark(int functions, int changed, BenchResults& results);

}  // namespace hotpatch::bench
