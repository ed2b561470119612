// One log entry per request: who asked (uid, pid), what (command, target pid, patch), and the
// outcome. Under systemd the entry goes to the journal with each item as its own field, so
// `journalctl HOTPATCH_OUTCOME=permission_denied` finds refusals; otherwise one line on stderr.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace hotpatch::daemon {

struct RequestLogEntry {
  std::string command;  // "apply", ..., or "?" when the request could not be parsed
  uid_t caller_uid = 0;
  pid_t caller_pid = 0;
  std::optional<pid_t> target_pid;
  std::string patch;    // patch id(s) concerned, may be empty
  std::string outcome;  // "ok" or an error code ("busy", "permission_denied", ...)
  std::string detail;   // the error message, or a short summary of the result
  uint64_t duration_us = 0;
};

class RequestLog {
 public:
  // Journal when systemd started us: it sets INVOCATION_ID for services and JOURNAL_STREAM when
  // stderr is connected to the journal.
  RequestLog();

  void Record(const RequestLogEntry& entry);
  // Daemon-level events (start, stop, a failure outside any request).
  void Note(const std::string& message, bool is_error = false);

  bool to_journal() const { return to_journal_; }

 private:
  bool to_journal_ = false;
  std::mutex stderr_mutex_;  // lines from parallel requests must not interleave
};

}  // namespace hotpatch::daemon
