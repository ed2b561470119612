// The threads of a process and their state, as /proc shows them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace hotpatch {

// The tids in /proc/PID/task, sorted. Throws kNoSuchProcess naming the pid if it is gone.
std::vector<pid_t> ListThreads(pid_t pid);

// How many threads the kernel counts in the process (signal->nr_threads, which includes exited
// threads not yet reaped), from one stat() of /proc/PID/task: proc_task_getattr adds the count to
// the directory's link count of 2. A tenth of the cost of listing the directory. nullopt if the
// process is gone.
std::optional<size_t> TryCountThreads(pid_t pid);

// /proc/PID/task/TID/comm without the newline; "" if the thread is gone.
std::string ReadThreadName(pid_t pid, pid_t tid);

// The fields of /proc/PID/task/TID/status the attachment cares about.
struct TaskStatus {
  char state = '?';      // 'R', 'S', 'D', 'T' (stopped), 't' (tracing stop), 'Z', 'X'
  pid_t tracer_pid = 0;  // the tid of the tracing thread (it is a thread that traces), or 0
};

// nullopt if the thread is gone.
std::optional<TaskStatus> TryReadTaskStatus(pid_t pid, pid_t tid);

// Where a thread blocked in the kernel returns to user mode: the stack pointer and pc the kernel
// saved on its entry (/proc/PID/task/TID/syscall, which the kernel fills in only for a task that
// is not running: task_current_syscall waits until it is off its CPU, and says "running" if it
// is not). Read while the target runs, it is a guess that holds until the thread wakes.
struct BlockedThreadSite {
  uint64_t stack_pointer = 0;
  uint64_t pc = 0;
};
// nullopt when the thread runs, is gone, or the file is unreadable.
std::optional<BlockedThreadSite> TryReadBlockedThreadSite(pid_t pid, pid_t tid);

// Whether `tid` is a thread of process `pid` (a task of its thread group). PTRACE_O_TRACECLONE
// also attaches clones made without CLONE_THREAD (other processes), so a clone event alone
// does not say.
bool IsThreadOf(pid_t pid, pid_t tid);

// "state D (disk sleep), waiting in wait_for_vfork_done": why a thread does not stop, for
// messages (the State line and /proc/PID/task/TID/wchan, the kernel function it sleeps in).
std::string DescribeThreadState(pid_t pid, pid_t tid);

}  // namespace hotpatch
