#include "stop_floor.h"

#include <errno.h>
#include <sys/ptrace.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include "base/error.h"
#include "scheduling_boost.h"

namespace hotpatch::bench {

namespace {

using Clock = std::chrono::steady_clock;

std::vector<pid_t> ListThreads(pid_t pid) {
  std::vector<pid_t> tids;
  std::error_code error;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", error))
    tids.push_back(std::stoi(entry.path().filename().string()));
  if (error)
    throw Error(ErrorCode::kNoSuchProcess, "pid " + std::to_string(pid) + ": " + error.message());
  return tids;
}

// Every thread PTRACE_SEIZEd, no options: the bare mechanism, nothing the engine adds. The
// destructor stops them again, because the kernel only accepts PTRACE_DETACH from a tracee in a
// ptrace-stop.
class BareSeizure {
 public:
  explicit BareSeizure(pid_t pid) {
    for (pid_t tid : ListThreads(pid)) {
      if (ptrace(PTRACE_SEIZE, tid, nullptr, nullptr) != 0)
        throw ErrnoError("PTRACE_SEIZE tid " + std::to_string(tid) + " of pid " +
                         std::to_string(pid));
      tids_.push_back(tid);
    }
  }
  ~BareSeizure() {
    for (pid_t tid : tids_) ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
    for (pid_t tid : tids_) {
      int status;
      if (waitpid(tid, &status, __WALL) == tid && WIFSTOPPED(status))
        ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
    }
  }
  BareSeizure(const BareSeizure&) = delete;
  BareSeizure& operator=(const BareSeizure&) = delete;

  const std::vector<pid_t>& tids() const { return tids_; }

 private:
  std::vector<pid_t> tids_;
};

void WaitStopped(pid_t tid) {
  int status;
  if (waitpid(tid, &status, __WALL) != tid) throw ErrnoError("waitpid tid " + std::to_string(tid));
  if (!WIFSTOPPED(status))
    throw Error(ErrorCode::kNoSuchProcess,
                "tid " + std::to_string(tid) + " exited during the floor measurement");
}

}  // namespace

std::vector<FloorCycle> MeasureStopFloor(pid_t pid, const FloorOptions& options) {
  BareSeizure seized(pid);
  SchedulingBoost tracer_boost;
  if (options.boost_tracer) tracer_boost.Boost(static_cast<pid_t>(gettid()), 2);
  const auto& tids = seized.tids();
  std::vector<FloorCycle> cycles;
  std::vector<bool> stopped(tids.size());
  for (int cycle = 0; cycle < options.cycles; ++cycle) {
    auto begin = Clock::now();
    for (pid_t tid : tids) ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr);
    SchedulingBoost boost;
    std::fill(stopped.begin(), stopped.end(), false);
    if (options.boost_unstopped) {
      for (size_t i = 0; i < tids.size(); ++i) {
        int status;
        if (waitpid(tids[i], &status, __WALL | WNOHANG) == tids[i]) {
          stopped[i] = true;
        } else {
          boost.Boost(tids[i], 1);
        }
      }
    }
    for (size_t i = 0; i < tids.size(); ++i)
      if (!stopped[i]) WaitStopped(tids[i]);
    auto stopped_at = Clock::now();
    boost.Restore();
    // No signal reaches these targets during the measurement: every stop is the interrupt's
    // PTRACE_EVENT_STOP, and PTRACE_CONT with signal 0 loses nothing.
    for (pid_t tid : tids) ptrace(PTRACE_CONT, tid, nullptr, 0);
    cycles.push_back({std::chrono::duration<double, std::micro>(stopped_at - begin).count(),
                      std::chrono::duration<double, std::micro>(Clock::now() - begin).count()});
    // Let every thread run a little before the next cycle, as between two applies.
    struct timespec pause = {0, 2'000'000};
    nanosleep(&pause, nullptr);
  }
  return cycles;
}

}  // namespace hotpatch::bench
