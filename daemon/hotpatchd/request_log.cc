#include "hotpatchd/request_log.h"

#include <syslog.h>
#include <systemd/sd-journal.h>

#include <cstdio>
#include <cstdlib>

namespace hotpatch::daemon {
namespace {

std::string FormatLine(const RequestLogEntry& e) {
  std::string line = "request " + e.command + " caller_uid=" + std::to_string(e.caller_uid) +
                     " caller_pid=" + std::to_string(e.caller_pid);
  if (e.target_pid) line += " pid=" + std::to_string(*e.target_pid);
  if (!e.patch.empty()) line += " patch=" + e.patch;
  line += " outcome=" + e.outcome + " duration_us=" + std::to_string(e.duration_us);
  if (!e.detail.empty()) line += ": " + e.detail;
  // One entry is one line, whatever the message contains.
  for (char& c : line)
    if (c == '\n') c = ' ';
  return line;
}

}  // namespace

RequestLog::RequestLog() {
  to_journal_ = std::getenv("JOURNAL_STREAM") != nullptr || std::getenv("INVOCATION_ID") != nullptr;
}

void RequestLog::Record(const RequestLogEntry& e) {
  std::string line = FormatLine(e);
  bool failed = e.outcome != "ok";
  if (to_journal_) {
    std::string target = e.target_pid ? std::to_string(*e.target_pid) : "";
    sd_journal_send("MESSAGE=%s", line.c_str(), "PRIORITY=%d", failed ? LOG_WARNING : LOG_INFO,
                    "HOTPATCH_COMMAND=%s", e.command.c_str(), "HOTPATCH_CALLER_UID=%u",
                    static_cast<unsigned>(e.caller_uid), "HOTPATCH_CALLER_PID=%d",
                    static_cast<int>(e.caller_pid), "HOTPATCH_TARGET_PID=%s", target.c_str(),
                    "HOTPATCH_PATCH_ID=%s", e.patch.c_str(), "HOTPATCH_OUTCOME=%s",
                    e.outcome.c_str(), "HOTPATCH_DURATION_US=%llu",
                    static_cast<unsigned long long>(e.duration_us), nullptr);
    return;
  }
  std::lock_guard lock(stderr_mutex_);
  std::fprintf(stderr, "hotpatchd: %s\n", line.c_str());
  std::fflush(stderr);
}

void RequestLog::Note(const std::string& message, bool is_error) {
  if (to_journal_) {
    sd_journal_send("MESSAGE=%s", message.c_str(), "PRIORITY=%d", is_error ? LOG_ERR : LOG_INFO,
                    nullptr);
    return;
  }
  std::lock_guard lock(stderr_mutex_);
  std::fprintf(stderr, "hotpatchd: %s\n", message.c_str());
  std::fflush(stderr);
}

}  // namespace hotpatch::daemon
