#include "bench_results.h"

#include <cstdio>

namespace hotpatch::bench {

namespace {

template <typename T>
nlohmann::json OrNull(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

std::string Fixed(double value, int decimals) {
  char text[64];
  std::snprintf(text, sizeof text, "%.*f", decimals, value);
  return text;
}

// "n/a (why)" with the note for `key` when the value was not measured.
template <typename T>
std::string ValueOrWhy(const std::optional<T>& value, const std::string& rendered,
                       const nlohmann::json& notes, const std::string& key) {
  if (value) return rendered;
  std::string why = notes.contains(key) && notes[key].is_string() ? notes[key].get<std::string>()
                                                                  : "not measured";
  return "n/a (" + why + ")";
}

// The pause target for a point, as text.
std::string PauseTarget(const PausePoint& p) {
  std::string target = "<= 1.5 x floor";
  if (p.threads == 8 && p.load == "busy") target += ", <= 300";
  if (p.threads == 8 && p.load == "idle") target += ", <= 200";
  if (p.threads == 256 && p.load == "busy") target += ", <= 20000";
  return target;
}

}  // namespace

nlohmann::json ToJson(const BenchResults& r) {
  nlohmann::json pause = nlohmann::json::array();
  for (const auto& p : r.pause) {
    pause.push_back({{"threads", p.threads},
                     {"load", p.load},
                     {"median_us", p.median_us},
                     {"p99_us", p.p99_us},
                     {"floor_us", p.floor_us},
                     {"stop_us", p.stop_us},
                     {"unwind_us", p.unwind_us},
                     {"write_us", p.write_us},
                     {"resume_us", p.resume_us}});
  }
  return {{"pause", pause},
          {"call_overhead_ns", OrNull(r.call_overhead_ns)},
          {"generate_s", OrNull(r.generate_s)},
          {"fleet_processes", OrNull(r.fleet_processes)},
          {"fleet_s", OrNull(r.fleet_s)},
          {"daemon_rss_kib", OrNull(r.daemon_rss_kib)},
          {"machine", {{"cores", r.cores}, {"kernel", r.kernel}}},
          {"notes", r.notes}};
}

std::string FormatTable(const BenchResults& r) {
  std::string out;
  char line[512];
  out += "machine: " + std::to_string(r.cores) + " cores, kernel " + r.kernel + "\n\n";
  out +=
      "pause (us; median/p99 = engine, apply and revert of one function, scheduling boost on; "
      "floor = bare stop+resume; boosted = floor with SCHED_FIFO 1 for not-yet-stopped threads; "
      "+tracer = and SCHED_FIFO 2 for the tracer; no boost = engine median with the boost off; "
      "stop..resume = medians of the engine's own breakdown)\n";
  std::snprintf(line, sizeof line,
                "%7s %5s %9s %9s %9s %7s %8s %8s %8s %9s %8s %7s %6s %8s %8s  %s\n", "threads",
                "load", "median", "p99", "floor", "x floor", "boosted", "+tracer", "x +tr",
                "no boost", "stop", "unwind", "write", "resume", "stops/op", "target");
  out += line;
  for (const auto& p : r.pause) {
    double ratio = p.floor_us > 0 ? p.median_us / p.floor_us : 0;
    double ratio_boosted = p.floor_both_boosted_us > 0 ? p.median_us / p.floor_both_boosted_us : 0;
    std::snprintf(line, sizeof line,
                  "%7d %5s %9.0f %9.0f %9.0f %7.2f %8.0f %8.0f %8.2f %9.0f %8.0f %7.0f %6.0f "
                  "%8.0f %8.2f  %s\n",
                  p.threads, p.load.c_str(), p.median_us, p.p99_us, p.floor_us, ratio,
                  p.floor_boosted_us, p.floor_both_boosted_us, ratio_boosted, p.median_unboosted_us,
                  p.stop_us, p.unwind_us, p.write_us, p.resume_us, p.attempts_mean,
                  PauseTarget(p).c_str());
    out += line;
  }
  out += "\n";
  auto row = [&](const std::string& name, const std::string& value, const std::string& target) {
    std::snprintf(line, sizeof line, "%-28s %-52s target %s\n", name.c_str(), value.c_str(),
                  target.c_str());
    out += line;
  };
  row("call overhead",
      ValueOrWhy(r.call_overhead_ns, Fixed(r.call_overhead_ns.value_or(0), 2) + " ns", r.notes,
                 "call_overhead_ns"),
      "<= 1 ns");
  row("generation (" + std::to_string(r.generate_functions) + " fn, 10 chg)",
      ValueOrWhy(r.generate_s, Fixed(r.generate_s.value_or(0), 3) + " s", r.notes, "generate_s"),
      "<= 1 s");
  row("fleet (" + std::to_string(r.fleet_processes.value_or(50)) + " processes)",
      ValueOrWhy(r.fleet_s, Fixed(r.fleet_s.value_or(0), 3) + " s", r.notes, "fleet_s"), "<= 1 s");
  row("hotpatchd RSS",
      ValueOrWhy(r.daemon_rss_kib, std::to_string(r.daemon_rss_kib.value_or(0)) + " KiB", r.notes,
                 "daemon_rss_kib"),
      "<= 10240 KiB idle");
  return out;
}

}  // namespace hotpatch::bench
