#include "fleet_benchmark.h"

#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "base/error.h"
#include "engine/engine.h"
#include "patch_bundles.h"
#include "running_daemon.h"
#include "support/scratch_directory.h"
#include "shell_command.h"
#include "support/target_process.h"

namespace hotpatch::bench {

namespace {

using Clock = std::chrono::steady_clock;

// Every process must carry the patch, or the time measured nothing.
void CheckAllPatched(const std::vector<std::unique_ptr<test::TargetProcess>>& fleet,
                     const std::string& id, const std::string& how) {
  for (const auto& target : fleet) {
    bool applied = false;
    for (const auto& listed : ListPatches(target->pid()))
      applied = applied || (listed.record.patch_id == id && listed.effective_state == "applied");
    if (!applied)
      throw Error(ErrorCode::kInternal,
                  how + ": pid " + std::to_string(target->pid()) + " is not patched");
  }
}

double ApplyWithEngineOnTwoThreads(const std::vector<std::unique_ptr<test::TargetProcess>>& fleet,
                                   const std::vector<uint8_t>& bundle) {
  std::exception_ptr failure[2];
  auto begin = Clock::now();
  // ApplyBundle runs on the calling thread from seize to detach (the tracer is a thread), so two
  // threads patch two processes at a time, one per core.
  auto half = [&](size_t first, std::exception_ptr& error) {
    try {
      for (size_t i = first; i < fleet.size(); i += 2) ApplyBundle(fleet[i]->pid(), bundle, {});
    } catch (...) {
      error = std::current_exception();
    }
  };
  std::thread other(half, 1, std::ref(failure[1]));
  half(0, failure[0]);
  other.join();
  double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  for (auto& f : failure)
    if (f) std::rethrow_exception(f);
  return seconds;
}

void ApplyThroughDaemon(const std::vector<std::unique_ptr<test::TargetProcess>>& fleet,
                        const std::string& bundle, BenchResults& results) {
  std::string hotpatchd = BuiltTool("daemon/hotpatchd");
  std::string hotpatchctl = BuiltTool("daemon/hotpatchctl");
  if (hotpatchd.empty() || hotpatchctl.empty()) {
    results.notes["fleet_s"] = "hotpatchd or hotpatchctl is not built";
    results.notes["daemon_rss_kib"] = "hotpatchd is not built";
    return;
  }
  RunningDaemon daemon(hotpatchd, hotpatchctl);
  long idle_kib = daemon.ResidentKib();
  // One client per process, all at once: the daemon serializes per pid only, so it may patch
  // the whole fleet in parallel.
  std::string script;
  for (const auto& target : fleet)
    script += "(" + hotpatchctl + " --socket " + daemon.socket_path() + " apply " +
              std::to_string(target->pid()) + " " + bundle + " >/dev/null 2>&1 || echo failed " +
              std::to_string(target->pid()) + ") & ";
  script += "wait";
  auto begin = Clock::now();
  std::string output = RunCommand(script);
  double seconds = std::chrono::duration<double>(Clock::now() - begin).count();
  if (output.find("failed") != std::string::npos)
    throw Error(ErrorCode::kInternal, "hotpatchctl apply failed for some processes: " + output);
  CheckAllPatched(fleet, "bench-tick", "hotpatchctl apply");
  results.fleet_s = seconds;
  results.daemon_rss_kib = idle_kib;
  results.notes["daemon_rss_after_fleet_kib"] = daemon.ResidentKib();
  results.notes["fleet"] =
      "hotpatchd on a private socket; one `hotpatchctl apply PID BUNDLE` per process, all "
      "started at once, timed until the last exits; each process then checked with "
      "ListPatches. daemon_rss_kib: VmRSS right after start (idle)";
}

}  // namespace

void RunFleetBenchmark(int processes, BenchResults& results) {
  std::string program = test::TargetPath("bench_threads");
  test::ScratchDirectory scratch("fleet");
  std::string bundle_path = scratch.path() + "/bench_tick.hpb";
  std::vector<uint8_t> bundle = BuildPatchBundle("bench_tick", program, "bench-tick", bundle_path);
  std::fprintf(stderr, "fleet: starting %d processes ...\n", processes);
  std::vector<std::unique_ptr<test::TargetProcess>> fleet;
  // Two idle threads each: a fleet of small services, not 50 CPU hogs on two cores.
  for (int i = 0; i < processes; ++i)
    fleet.push_back(
        std::make_unique<test::TargetProcess>(program, std::vector<std::string>{"2", "idle"}));
  for (auto& target : fleet) target->WaitForLine("ready", std::chrono::seconds(30));

  double engine_seconds = ApplyWithEngineOnTwoThreads(fleet, bundle);
  CheckAllPatched(fleet, "bench-tick", "ApplyBundle");
  results.notes["fleet_engine_s"] = engine_seconds;
  for (auto& target : fleet) RevertPatches(target->pid(), {});

  results.fleet_processes = processes;
  ApplyThroughDaemon(fleet, bundle_path, results);
}

}  // namespace hotpatch::bench
