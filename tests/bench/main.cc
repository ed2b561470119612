// hotpatch-bench: runs the benchmarks of issue 6, prints the table and writes bench.json.
//
//   hotpatch-bench [--quick] [--only pause,call,generate,fleet] [--threads 1,8,...] [--json PATH]
//
// --threads measures the pause at these thread counts only (default 1, 8, 64, 256; --quick 1, 8).
// --quick runs every scenario small (1 and 8 threads, 10 cycles, 10 processes) to check that the
// benchmark itself works; its numbers are not the ones to report. A scenario that fails is
// reported in notes and the exit status is 1, but the other scenarios still run and bench.json
// is still written.
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bench_results.h"
#include "call_overhead.h"
#include "fleet_benchmark.h"
#include "generation_benchmark.h"
#include "pause_benchmark.h"

namespace {

using namespace hotpatch::bench;

struct BenchOptions {
  bool quick = false;
  std::set<std::string> only;  // empty: every scenario
  std::vector<int> thread_counts;  // empty: the default of the mode
  std::string json_path = "bench.json";
};

int Usage() {
  std::cerr << "usage: hotpatch-bench [--quick] [--only pause,call,generate,fleet] "
               "[--threads 1,8,...] [--json PATH]\n";
  return 2;
}

void DescribeMachine(BenchResults& results) {
  results.cores = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  utsname name{};
  if (uname(&name) == 0) results.kernel = name.release;
}

// /proc/loadavg's 1-minute average: the machine is shared, and every busy number depends on it.
double LoadAverage() {
  double one_minute = -1;
  std::ifstream("/proc/loadavg") >> one_minute;
  return one_minute;
}

}  // namespace

int main(int argc, char** argv) {
  BenchOptions options;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--only" && i + 1 < argc) {
      std::stringstream list(argv[++i]);
      for (std::string name; std::getline(list, name, ',');) options.only.insert(name);
    } else if (arg == "--threads" && i + 1 < argc) {
      std::stringstream list(argv[++i]);
      for (std::string count; std::getline(list, count, ',');) {
        int threads = std::atoi(count.c_str());
        if (threads <= 0) return Usage();
        options.thread_counts.push_back(threads);
      }
    } else if (arg == "--json" && i + 1 < argc) {
      options.json_path = argv[++i];
    } else {
      return Usage();
    }
  }
  BenchResults results;
  DescribeMachine(results);
  double load_at_start = LoadAverage();
  bool failed = false;
  auto run = [&](const std::string& name, const std::string& note_key,
                 const std::function<void()>& scenario) {
    if (!options.only.empty() && !options.only.count(name)) {
      results.notes[note_key] = "not run (--only)";
      return;
    }
    try {
      scenario();
    } catch (const std::exception& e) {
      failed = true;
      results.notes[note_key] = std::string("failed: ") + e.what();
      std::cerr << "hotpatch-bench: " << name << " failed: " << e.what() << "\n";
    }
  };

  PauseOptions pause;
  if (options.quick) {
    pause.thread_counts = {1, 8};
    pause.cycles = 10;
    pause.unboosted_cycles = 5;
  }
  if (!options.thread_counts.empty()) pause.thread_counts = options.thread_counts;
  run("pause", "pause_failure", [&] { RunPauseBenchmark(pause, results); });
  run("call", "call_overhead_ns",
      [&] { RunCallOverheadBenchmark(options.quick ? 5 : 20, results); });
  results.generate_functions = options.quick ? 500 : 5000;
  run("generate", "generate_s",
      [&] { RunGenerationBenchmark(results.generate_functions, 10, results); });
  run("fleet", "fleet_s", [&] { RunFleetBenchmark(options.quick ? 10 : 50, results); });
  // The daemon's memory is measured by the fleet scenario.
  if (!results.daemon_rss_kib && !results.notes.contains("daemon_rss_kib"))
    results.notes["daemon_rss_kib"] = results.notes.value("fleet_s", "not measured");
  results.notes["load_average_1min"] = {{"start", load_at_start}, {"end", LoadAverage()}};
  if (options.quick) results.notes["quick"] = "--quick run: small sizes, not the numbers to report";

  std::cout << FormatTable(results);
  std::ofstream(options.json_path) << ToJson(results).dump(2) << "\n";
  std::cout << "\nwrote " << options.json_path << "\n";
  return failed ? 1 : 0;
}
