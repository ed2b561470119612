#include "hotpatchctl/readable_output.h"

#include <algorithm>
#include <string>
#include <vector>

#include "base/hex.h"

namespace hotpatch::ctl {
namespace {

template <class... Ts>
struct Overloaded : Ts... {
  using Ts::operator()...;
};

std::string Join(const std::vector<std::string>& items, const char* separator = ", ") {
  std::string joined;
  for (const auto& item : items) joined += (joined.empty() ? "" : separator) + item;
  return joined;
}

// Columns as wide as their widest cell; the last column is not padded.
void PrintTable(FILE* out, const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows)
    for (size_t i = 0; i < row.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], row[i].size());
    }
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    std::fprintf(out, "%s\n", line.c_str());
  }
}

void PrintInstalled(const std::vector<proto::InstalledBundle>& installed, FILE* out) {
  if (installed.empty()) return;
  std::fprintf(out, "\ninstalled bundles (applied to every process that maps their module):\n");
  std::vector<std::vector<std::string>> rows = {{"  PATCH", "MODULE", "PID", "STATE"}};
  for (const auto& b : installed) {
    if (b.targets.empty()) rows.push_back({"  " + b.patch_id, b.target_module, "-", "no process"});
    for (const auto& t : b.targets)
      rows.push_back({"  " + b.patch_id, b.target_module, std::to_string(t.pid),
                      t.message.empty() ? t.state : t.state + ": " + t.message});
  }
  PrintTable(out, rows);
}

void PrintList(const proto::ListResult& r, FILE* out) {
  if (r.processes.empty()) {
    std::fprintf(out, "no patched processes\n");
    PrintInstalled(r.installed, out);
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"PID", "COMMAND", "PATCH", "STATE", "PLACEMENT", "FUNCTIONS"}};
  for (const auto& p : r.processes) {
    if (p.patches.empty())
      rows.push_back({std::to_string(p.pid), p.command, "-", "no patches", "-", "-"});
    for (const auto& patch : p.patches) {
      std::string state = patch.effective_state;
      if (patch.state != "applied") state += " (" + patch.state + ")";
      rows.push_back({std::to_string(p.pid), p.command, patch.patch_id, state, patch.placement,
                      Join(patch.functions)});
    }
  }
  PrintTable(out, rows);
  PrintInstalled(r.installed, out);
}

void PrintInfo(const proto::InfoResult& r, FILE* out) {
  PrintTable(out, {{"patch:", r.patch_id},
                   {"description:", r.description},
                   {"format:", std::to_string(r.format_version)},
                   {"target module:", r.target_module},
                   {"target build-id:", r.target_build_id},
                   {"placement:", r.placement + " (preferred)"},
                   {"checksum:", r.checksum},
                   {"signature:", r.signature},
                   {"size:", std::to_string(r.size) + " bytes"}});
  if (!r.replaced.empty()) {
    std::fprintf(out, "\nreplaced functions:\n");
    std::vector<std::vector<std::string>> rows = {
        {"  NAME", "SOURCE", "OFFSET", "OLD SIZE", "NEW SIZE"}};
    for (const auto& f : r.replaced)
      rows.push_back({"  " + f.name, f.source_file.empty() ? "-" : f.source_file,
                      Hex(f.target_offset), std::to_string(f.old_size),
                      std::to_string(f.new_size)});
    PrintTable(out, rows);
  }
  if (!r.added.empty()) {
    std::fprintf(out, "\nadded functions:\n");
    std::vector<std::vector<std::string>> rows = {{"  NAME", "SIZE"}};
    for (const auto& f : r.added) rows.push_back({"  " + f.name, std::to_string(f.size)});
    PrintTable(out, rows);
  }
  if (!r.data.empty()) {
    std::fprintf(out, "\ndata:\n");
    std::vector<std::vector<std::string>> rows = {{"  SECTION", "SIZE", "ACCESS"}};
    for (const auto& d : r.data)
      rows.push_back(
          {"  " + d.section, std::to_string(d.size), d.writable ? "read-write" : "read-only"});
    PrintTable(out, rows);
  }
}

void PrintFleet(const proto::FleetApplyResult& r, FILE* out) {
  std::fprintf(out, "%s on every process of %s (build-id %s)%s:\n", r.patch_id.c_str(),
               r.target_module.c_str(), r.target_build_id.c_str(), r.atomic ? ", atomic" : "");
  std::vector<std::vector<std::string>> rows = {{"  PID", "COMMAND", "OUTCOME", "DETAIL"}};
  for (const auto& m : r.processes) {
    std::string detail;
    if (!m.error.empty())
      detail = m.error + ": " + m.message;
    else if (!m.placement.empty())
      detail = "placement " + m.placement + ", " + std::to_string(m.attempts) +
               " attempt(s), paused " + std::to_string(m.pause_us) + " us";
    rows.push_back({"  " + std::to_string(m.pid), m.command, m.outcome, detail});
  }
  PrintTable(out, rows);
}

}  // namespace

void PrintReadable(const proto::Response& response, FILE* out, FILE* err) {
  std::visit(
      Overloaded{
          [&](const proto::ApplyResult& r) {
            if (r.already_applied) {
              std::fprintf(out, "%s is already applied to pid %d: nothing done\n",
                           r.patch_id.c_str(), r.pid);
              return;
            }
            std::fprintf(out,
                         "applied %s to pid %d\n  placement: %s\n  functions: %s\n"
                         "  attempts:  %d\n  paused:    %llu us\n",
                         r.patch_id.c_str(), r.pid, r.placement.c_str(), Join(r.functions).c_str(),
                         r.attempts, static_cast<unsigned long long>(r.pause_us));
          },
          [&](const proto::RevertResult& r) {
            if (r.reverted.empty()) {
              std::fprintf(out, "pid %d: nothing to revert\n", r.pid);
              return;
            }
            std::fprintf(out, "reverted %s from pid %d\n  attempts: %d\n  paused:   %llu us\n",
                         Join(r.reverted).c_str(), r.pid, r.attempts,
                         static_cast<unsigned long long>(r.pause_us));
          },
          [&](const proto::ListResult& r) { PrintList(r, out); },
          [&](const proto::StatusResult& r) {
            PrintTable(out, {{"hotpatchd:", r.daemon_version},
                             {"pid:", std::to_string(r.daemon_pid)},
                             {"uptime:", std::to_string(r.uptime_s) + " s"},
                             {"requests served:", std::to_string(r.requests_served)},
                             {"in flight:", std::to_string(r.in_flight)}});
          },
          [&](const proto::InfoResult& r) { PrintInfo(r, out); },
          [&](const proto::InstallResult& r) {
            std::fprintf(out,
                         "%s %s: hotpatchd applies it to every process mapping %s (build-id %s), "
                         "now and when started\n",
                         r.already_installed ? "already installed" : "installed",
                         r.patch_id.c_str(), r.target_module.c_str(), r.target_build_id.c_str());
          },
          [&](const proto::UninstallResult& r) {
            std::string pids;
            for (pid_t pid : r.reverted_pids)
              pids += (pids.empty() ? "" : ", ") + std::to_string(pid);
            std::fprintf(out, "uninstalled %s; reverted from %s\n", r.patch_id.c_str(),
                         pids.empty() ? "no process" : ("pid " + pids).c_str());
            for (const auto& f : r.failed)
              std::fprintf(err, "hotpatchctl: pid %d still runs %s: %s: %s\n", f.pid,
                           r.patch_id.c_str(), f.error.c_str(), f.message.c_str());
          },
          [&](const proto::FleetApplyResult& r) { PrintFleet(r, out); },
          [&](const proto::ErrorReply& r) {
            std::fprintf(err, "hotpatchctl: %s: %s\n", r.error.c_str(), r.message.c_str());
          }},
      response.body);
}

}  // namespace hotpatch::ctl
