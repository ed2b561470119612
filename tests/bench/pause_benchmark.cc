#include "pause_benchmark.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>
#include <thread>

#include "base/error.h"
#include "engine/engine.h"
#include "flip_breakdown.h"
#include "patch_bundles.h"
#include "scheduling_boost.h"
#include "statistics.h"
#include "stop_floor.h"
#include "support/target_process.h"

namespace hotpatch::bench {

namespace {

RemotePtr TickAddress(const std::string& ready_line) {
  auto at = ready_line.find("tick=");
  if (at == std::string::npos)
    throw Error(ErrorCode::kInternal,
                "bench_threads said \"" + ready_line + "\", expected \"ready tick=0x...\"");
  return RemotePtr(std::stoull(ready_line.substr(at + 5), nullptr, 16));
}

long TargetErrors(test::TargetProcess& target) {
  kill(target.pid(), SIGUSR1);
  std::string line = target.WaitForLine("stats ", std::chrono::seconds(30));
  return std::stol(line.substr(line.find("errors=") + 7));
}

struct EngineCycles {
  std::vector<double> pauses;  // pause_us of each apply and each revert
  long stops = 0;
};

// `cycles` times ApplyBundle then RevertPatches. With `tracer_fifo`, the calling thread (the
// tracer) runs at SCHED_FIFO 2 meanwhile: the prototype of the lever that keeps resumed busy
// threads from preempting the tracer between two PTRACE_CONTs (docs/performance.md).
EngineCycles RunEngineCycles(pid_t pid, const std::vector<uint8_t>& bundle, int cycles,
                             bool tracer_fifo) {
  ApplyOptions apply_options;
  apply_options.timeout = std::chrono::seconds(60);
  RevertOptions revert_options;
  revert_options.timeout = std::chrono::seconds(60);
  SchedulingBoost tracer_boost;
  if (tracer_fifo) tracer_boost.Boost(static_cast<pid_t>(gettid()), 2);
  EngineCycles result;
  for (int i = 0; i < cycles; ++i) {
    ApplyResult applied = ApplyBundle(pid, bundle, apply_options);
    result.pauses.push_back(static_cast<double>(applied.pause_us));
    RevertResult reverted = RevertPatches(pid, revert_options);
    result.pauses.push_back(static_cast<double>(reverted.pause_us));
    result.stops += applied.attempts + reverted.attempts;
  }
  return result;
}

PausePoint MeasurePoint(int threads, const std::string& load, const std::vector<uint8_t>& bundle,
                        const PauseOptions& options, nlohmann::json& notes) {
  test::TargetProcess target(test::TargetPath("bench_threads"), {std::to_string(threads), load});
  RemotePtr tick = TickAddress(target.WaitForLine("ready", std::chrono::seconds(30)));
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

  FlipPhases phases = MeasureFlipPhases(target.pid(), tick, options.breakdown_cycles);
  point.stop_us = Median(phases.stop_us);
  point.unwind_us = Median(phases.unwind_us);
  point.write_us = Median(phases.write_us);
  point.resume_us = Median(phases.resume_us);
  FlipPhases boosted_phases = MeasureFlipPhases(target.pid(), tick, options.breakdown_cycles, true);

  // One untimed round: the first apply creates the in-target registry (a remote mmap in a stop
  // of its own) and warms the page cache for the module's ELF.
  RunEngineCycles(target.pid(), bundle, 1, false);
  EngineCycles engine = RunEngineCycles(target.pid(), bundle, options.cycles, false);
  point.median_us = Median(engine.pauses);
  point.p99_us = Percentile(engine.pauses, 0.99);
  point.attempts_mean =
      static_cast<double>(engine.stops) / static_cast<double>(engine.pauses.size());
  EngineCycles engine_tracer_fifo = RunEngineCycles(target.pid(), bundle, options.cycles, true);
  point.target_errors = TargetErrors(target);

  std::string key = std::to_string(threads) + "_" + load;
  notes["pause_extra"][key] = {
      {"floor_stop_part_us", Median(bare_stops)},
      {"floor_boosted_us", point.floor_boosted_us},
      {"floor_boosted_with_tracer_us", point.floor_both_boosted_us},
      {"stop_with_attachment_boost_us", Median(boosted_phases.stop_us)},
      {"engine_median_tracer_fifo_us", Median(engine_tracer_fifo.pauses)},
      {"engine_p99_tracer_fifo_us", Percentile(engine_tracer_fifo.pauses, 0.99)},
      {"stops_per_operation", point.attempts_mean},
      {"frames_per_stop",
       static_cast<double>(phases.frames) / static_cast<double>(options.breakdown_cycles)},
      {"walker_pages_read_per_stop",
       static_cast<double>(phases.pages_read) / static_cast<double>(options.breakdown_cycles)},
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
        point_options.breakdown_cycles =
            std::min(options.breakdown_cycles, options.many_threads_breakdown_cycles);
      }
      results.pause.push_back(MeasurePoint(threads, load, bundle, point_options, results.notes));
      results.notes["pause_extra"][std::to_string(threads) + "_" + load]["cycles"] =
          point_options.cycles;
    }
  }
  results.notes["pause"] =
      "median_us/p99_us: ApplyResult/RevertResult pause_us (each apply and each revert one sample, "
      "after one "
      "untimed warm-up round); floor_us: median of bare PTRACE_INTERRUPT all/wait all/PTRACE_CONT "
      "all; "
      "stop/unwind/write/resume: medians measured outside the engine with ProcessAttachment, "
      "StackWalker and "
      "RemoteMemory (the engine exposes only the total), the write phase being 4 read-back writes "
      "of 5 bytes";
}

}  // namespace hotpatch::bench
