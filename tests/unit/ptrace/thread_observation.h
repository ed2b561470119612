// What the tests check from outside: the state and tracer of every thread of a target, as /proc
// shows it, and numbers the targets print.
#pragma once

#include <signal.h>
#include <sys/types.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include "process/process_attachment.h"
#include "process/thread_status.h"
#include "support/target_process.h"

namespace hotpatch::test {

// Every thread's status; threads that vanish while we read are left out.
inline std::map<pid_t, TaskStatus> ThreadStatuses(pid_t pid) {
  std::map<pid_t, TaskStatus> statuses;
  for (pid_t tid : ListThreads(pid)) {
    if (auto status = TryReadTaskStatus(pid, tid)) statuses[tid] = *status;
  }
  return statuses;
}

// Polls until `accept` holds for every thread (the kernel moves a detached thread into its next
// state asynchronously). Returns false on timeout: the test then fails with the statuses printed.
inline bool WaitUntilEveryThread(pid_t pid, const std::function<bool(const TaskStatus&)>& accept,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    bool all = true;
    for (const auto& [tid, status] : ThreadStatuses(pid)) all = all && accept(status);
    if (all) return true;
    if (std::chrono::steady_clock::now() > deadline) return false;
    usleep(2000);
  }
}

inline std::string DescribeThreads(pid_t pid) {
  std::string text;
  for (const auto& [tid, status] : ThreadStatuses(pid)) {
    text += std::to_string(tid) + ":" + status.state +
            "/tracer=" + std::to_string(status.tracer_pid) + " ";
  }
  return text;
}

inline bool Untraced(const TaskStatus& s) {
  return s.tracer_pid == 0;
}
inline bool UntracedAndNotStopped(const TaskStatus& s) {
  return s.tracer_pid == 0 && s.state != 't' && s.state != 'T';
}

// The number after `key` in a line like "counters 123 errors 0".
inline unsigned long NumberAfter(const std::string& line, std::string_view key) {
  auto at = line.find(std::string(key) + " ");
  if (at == std::string::npos)
    throw std::runtime_error("no '" + std::string(key) + "' in: " + line);
  return std::stoul(line.substr(at + key.size() + 1));
}

// The number in "key=123" within a line like "ready reader=123 sleeper=124".
inline pid_t PidAfter(const std::string& line, std::string_view key) {
  auto at = line.find(std::string(key) + "=");
  if (at == std::string::npos)
    throw std::runtime_error("no '" + std::string(key) + "=' in: " + line);
  return static_cast<pid_t>(std::stol(line.substr(at + key.size() + 1)));
}

// Sends SIGUSR1 and returns the line the target answers with (it starts with `prefix`).
inline std::string AskTarget(TargetProcess& target, std::string_view prefix) {
  kill(target.pid(), SIGUSR1);
  return target.WaitForLine(prefix);
}

inline bool GroupStoppedUntraced(const TaskStatus& s) {
  return s.state == 'T' && s.tracer_pid == 0;
}

// After a detach from a SIGSTOPped busy_threads: every thread back in the group-stop, untraced, and
// staying there (not a moment on its way to running); then SIGCONT runs it again, counting.
inline void CheckStaysGroupStoppedUntilSigcont(TargetProcess& target) {
  INFO(DescribeThreads(target.pid()));
  REQUIRE(WaitUntilEveryThread(target.pid(), GroupStoppedUntraced));
  usleep(50000);
  CHECK(WaitUntilEveryThread(target.pid(), GroupStoppedUntraced, std::chrono::milliseconds(0)));
  kill(target.pid(), SIGCONT);
  REQUIRE(WaitUntilEveryThread(target.pid(), UntracedAndNotStopped));
  unsigned long first = NumberAfter(AskTarget(target, "counters"), "counters");
  usleep(20000);
  CHECK(NumberAfter(AskTarget(target, "counters"), "counters") > first);
}

// signal_counter's count once it reaches `sent`, or what it is after 5 s: delivery after a detach
// is asynchronous, so poll; a lost signal never makes it match.
inline unsigned long CountOnceDelivered(TargetProcess& target, unsigned long sent) {
  unsigned long count = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (std::chrono::steady_clock::now() < deadline) {
    count = NumberAfter(AskTarget(target, "count"), "count");
    if (count >= sent) break;
    usleep(10000);
  }
  return count;
}

// AskTarget while we are attached and the target runs: a signal-delivery-stop (of the thread
// that answers, say) waits for us, so keep servicing stops while waiting for the answer.
inline std::string AskAttachedTarget(TargetProcess& target, ProcessAttachment& attachment,
                                     std::string_view prefix) {
  kill(target.pid(), SIGUSR1);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  for (;;) {
    attachment.RunFor(std::chrono::milliseconds(2));
    try {
      return target.WaitForLine(prefix, std::chrono::milliseconds(20));
    } catch (const std::runtime_error& e) {
      if (std::chrono::steady_clock::now() > deadline) {
        throw std::runtime_error(std::string(e.what()) + "; threads " +
                                 DescribeThreads(target.pid()));
      }
    }
  }
}

}  // namespace hotpatch::test
