// Everything one run of hotpatch-bench measured, and its two renderings: the table printed for a
// human and bench.json with exactly the keys of issue 6. A value not measured is std::nullopt,
// written as null, and `notes` says why.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace hotpatch::bench {

// One point of scenario (a). All times in microseconds: median and p99 of the engine's pause
// (ApplyResult/RevertResult pause_us, each apply and each revert one sample), the floor (bare
// stop+resume of the same threads), and the medians of the engine's own breakdown of those
// samples (ApplyResult/RevertResult pause_breakdown).
struct PausePoint {
  int threads = 0;
  std::string load;  // "busy" | "idle"
  double median_us = 0;
  double p99_us = 0;
  double floor_us = 0;
  double stop_us = 0;
  double unwind_us = 0;
  double write_us = 0;
  double resume_us = 0;
  // Beyond the keys, reported in notes: the boosted floor, the mean number of stops per
  // apply or revert, and the errors the target counted (must be 0).
  double floor_boosted_us = 0;       // not-yet-stopped threads at SCHED_FIFO 1
  double floor_both_boosted_us = 0;  // and the tracer at SCHED_FIFO 2
  double median_unboosted_us = 0;    // the engine with ApplyOptions::scheduling_boost off
  double attempts_mean = 0;
  long target_errors = 0;
};

struct BenchResults {
  std::vector<PausePoint> pause;
  std::optional<double> call_overhead_ns;
  std::optional<double> generate_s;
  int generate_functions = 5000;  // size of the generated program
  std::optional<int> fleet_processes;
  std::optional<double> fleet_s;
  std::optional<long> daemon_rss_kib;
  int cores = 0;
  std::string kernel;
  // Free-form: why a value is null, and measurements beyond the keys.
  nlohmann::json notes = nlohmann::json::object();
};

nlohmann::json ToJson(const BenchResults& results);
// The table scripts/bench prints, each measured value next to the target.
std::string FormatTable(const BenchResults& results);

}  // namespace hotpatch::bench
