#include "call_overhead.h"

#include <signal.h>

#include <algorithm>
#include <string>

#include "engine/engine.h"
#include "patch_bundles.h"
#include "support/target_process.h"

namespace hotpatch::bench {

namespace {

double MeasureInTarget(test::TargetProcess& target) {
  kill(target.pid(), SIGUSR1);
  std::string line = target.WaitForLine("ns_per_call=", std::chrono::seconds(60));
  return std::stod(line.substr(line.find('=') + 1));
}

}  // namespace

void RunCallOverheadBenchmark(int rounds, BenchResults& results) {
  std::string program = test::TargetPath("bench_call");
  std::vector<uint8_t> bundle = BuildPatchBundle("bench_callee", program, "bench-callee");
  test::TargetProcess target(program);
  target.WaitForLine("ready");
  // Alternating rounds, best of each: the machine is shared, and the best run is the one least
  // disturbed by others; drift between rounds hits both sides alike.
  double native = 1e18;
  double patched = 1e18;
  for (int round = 0; round < rounds; ++round) {
    native = std::min(native, MeasureInTarget(target));
    ApplyBundle(target.pid(), bundle, {});
    patched = std::min(patched, MeasureInTarget(target));
    RevertPatches(target.pid(), {});
  }
  results.call_overhead_ns = patched - native;
  results.notes["call_ns_native"] = native;
  results.notes["call_ns_patched"] = patched;
}

}  // namespace hotpatch::bench
