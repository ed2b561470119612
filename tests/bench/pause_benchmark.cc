#include "pause_benchmark.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>

#include "base/error.h"
#include "engine/engine.h"
#include "patch_bundles.h"
#include "statistics.h"
#include "stop_floor.h"
#include "support/target_process.h"

namespace hotpatch::bench {

namespace {

long TargetErrors(test::TargetProcess& target) {
  kill(target.pid(), SIGUSR1);
  std::string line = target.WaitForLine("stats ", std::chrono::seconds(30));
  return std::stol(line.substr(line.find("errors=") + 7));
}

struct EngineCycles {
  std::vector<double> pauses;  // pause_us of each apply and each revert
  // The engine's own breakdown of each of those (ApplyResult/RevertResult::pause_breakdown).
  std::vector<double> stop_us, unwind_us, write_us, resume_us;
  std::vector<double> outside_breakdown_us;  // pause_us not in the breakdown: stops that backed off
  long stops = 0;

  void Add(uint64_t pause_us, const PauseBreakdown& b, int attempts) {
    pauses.push_back(static_cast<double>(pause_us));
    stop_us.push_back(static_cast<double>(b.stop_us));
    unwind_us.push_back(static_cast<double>(b.unwind_us));
    write_us.push_back(static_cast<double>(b.write_us));
    resume_us.push_back(static_cast<double>(b.resume_us));
    uint64_t inside = b.stop_us + b.unwind_us + b.write_us + b.resume_us;
    outside_breakdown_us.push_back(pause_us > inside ? static_cast<double>(pause_us - inside) : 0);
    stops += attempts;
  }
};

// `cycles` times ApplyBundle then RevertPatches, with the engine's scheduling boost (not-yet-
// stopped threads at SCHED_FIFO 1, the tracer at SCHED_FIFO 2) on or off.
EngineCycles RunEngineCycles(pid_t pid, const std::vector<uint8_t>& bundle, int cycles,
                             bool scheduling_boost) {
  ApplyOptions apply_options;
  apply_options.timeout = std::chrono::seconds(60);
  apply_options.scheduling_boost = scheduling_boost;
  RevertOptions revert_options;
  revert_options.timeout = std::chrono::seconds(60);
  revert_options.scheduling_boost = scheduling_boost;
  EngineCycles result;
  for (int i = 0; i < cycles; ++i) {
    ApplyResult applied = ApplyBundle(pid, bundle, apply_options);
    result.Add(applied.pause_us, applied.pause_breakdown, applied.attempts);
    RevertResult reverted = RevertPatches(pid, revert_options);
    result.Add(reverted.pause_us, reverted.pause_breakdown, reverted.attempts);
  }
  return result;
}

PausePoint MeasurePoint(int threads, const std::string& load, const std::vector<uint8_t>& bundle,
                        const PauseOptions& options, nlohmann::json& notes) {
  test::TargetProcess target(test::TargetPath("bench_threads"), {std::to_string(threads), load});
  target.WaitForLine("ready", std::chrono::seconds(30));
  PausePoint point;
  point.threads = threads;
  point.load = load;

  // Floors first, while no engine has touched the target.
  auto pauses_of = [](const std::vector<FloorCycle>& cycles) {
    std::vector<double> pauses;
    for (const auto& c : cycles) pauses.push_back(c.pause_us);
    return pauses;
  };
  auto bare = MeasureStopFloor(target.pid(), {options.cycles, false, false});
  point.floor_us = Median(pauses_of(bare));
  std::vector<double> bare_stops;
  for (const auto& c : bare) bare_stops.push_back(c.stop_us);
  point.floor_boosted_us =
      Median(pauses_of(MeasureStopFloor(target.pid(), {options.cycles, true, false})));
  point.floor_both_boosted_us =
      Median(pauses_of(MeasureStopFloor(target.pid(), {options.cycles, true, true})));

  // One untimed round: the first apply creates the in-target registry (a remote mmap in a stop
  // of its own) and warms the page cache for the module's ELF.
  RunEngineCycles(target.pid(), bundle, 1, true);
  EngineCycles engine = RunEngineCycles(target.pid(), bundle, options.cycles, true);
  point.median_us = Median(engine.pauses);
  point.p99_us = Percentile(engine.pauses, 0.99);
  point.stop_us = Median(engine.stop_us);
  point.unwind_us = Median(engine.unwind_us);
  point.write_us = Median(engine.write_us);
  point.resume_us = Median(engine.resume_us);
  point.attempts_mean =
      static_cast<double>(engine.stops) / static_cast<double>(engine.pauses.size());
  EngineCycles unboosted = RunEngineCycles(target.pid(), bundle, options.unboosted_cycles, false);
  point.median_unboosted_us = Median(unboosted.pauses);
  point.target_errors = TargetErrors(target);

  std::string key = std::to_string(threads) + "_" + load;
  notes["pause_extra"][key] = {
      {"floor_stop_part_us", Median(bare_stops)},
      {"floor_boosted_us", point.floor_boosted_us},
      {"floor_boosted_with_tracer_us", point.floor_both_boosted_us},
      {"pause_over_boosted_floor", point.median_us / point.floor_both_boosted_us},
      {"engine_median_no_boost_us", point.median_unboosted_us},
      {"engine_p99_no_boost_us", Percentile(unboosted.pauses, 0.99)},
      {"engine_no_boost_stop_us", Median(unboosted.stop_us)},
      {"engine_no_boost_resume_us", Median(unboosted.resume_us)},
      {"engine_no_boost_cycles", options.unboosted_cycles},
      {"pause_outside_breakdown_p99_us", Percentile(engine.outside_breakdown_us, 0.99)},
      {"stops_per_operation", point.attempts_mean},
      {"target_errors", point.target_errors}};
  if (point.target_errors != 0)
    throw Error(ErrorCode::kInternal, "bench_threads " + key + " counted " +
                                          std::to_string(point.target_errors) +
                                          " wrong results of bench_tick during the benchmark");
  return point;
}

}  // namespace

void RunPauseBenchmark(const PauseOptions& options, BenchResults& results) {
  std::string target = test::TargetPath("bench_threads");
  std::vector<uint8_t> bundle = BuildPatchBundle("bench_tick", target, "bench-tick");
  for (int threads : options.thread_counts) {
    for (const auto& load : options.loads) {
      std::fprintf(stderr, "pause: %d threads, %s ...\n", threads, load.c_str());
      PauseOptions point_options = options;
      if (threads >= options.many_threads) {
        point_options.cycles = std::min(options.cycles, options.many_threads_cycles);
        point_options.unboosted_cycles =
            std::min(options.unboosted_cycles, options.many_threads_unboosted_cycles);
      }
      results.pause.push_back(MeasurePoint(threads, load, bundle, point_options, results.notes));
      results.notes["pause_extra"][std::to_string(threads) + "_" + load]["cycles"] =
          point_options.cycles;
    }
  }
  results.notes["pause"] =
      "median_us/p99_us: ApplyResult/RevertResult pause_us with the engine's default scheduling "
      "boost (each apply and each revert one sample, after one untimed warm-up round); floor_us: "
      "median of bare PTRACE_INTERRUPT all/wait all/PTRACE_CONT all, no boost (issue 6's table); "
      "stop/unwind/write/resume: medians of the engine's own pause_breakdown of the same samples; "
      "pause_extra: floors with the boosts, the engine with scheduling_boost off";
}

}  // namespace hotpatch::bench
