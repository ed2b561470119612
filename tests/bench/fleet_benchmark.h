// Scenarios (d) and (e) of issue 6: one bundle installed into 50 running processes of the same
// program, timed until every one is patched, and hotpatchd's resident memory idle and after that.
//
// Two measurements of (d):
//  - the engine alone: ApplyBundle on every process, spread over two threads (one per core), the
//    lower bound for any daemon; reported as notes.fleet_engine_s.
//  - through the daemon: hotpatchd on a private socket and one `hotpatchctl apply` per process,
//    all started at once; this is fleet_s. Null with a note while hotpatchd or hotpatchctl is not
//    built.
#pragma once

#include "bench_results.h"

namespace hotpatch::bench {

void RunFleetBenchmark(int processes, BenchResults& results);

}  // namespace hotpatch::bench
