// TryReadBlockedThreadSite: where a thread blocked in the kernel will return to user mode, read
// while it sleeps (the row walker's learning before a stop). Our own threads stand in for the
// target's: /proc/PID/task/TID/syscall is the same file.
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstring>
#include <thread>

#include "process/thread_status.h"

using namespace hotpatch;

TEST_CASE("a thread blocked in read() shows the pc after its syscall and its stack pointer") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  std::atomic<pid_t> reader_tid{0};
  std::atomic<uint64_t> reader_frame{0};
  std::thread reader([&] {
    char byte;
    reader_frame = reinterpret_cast<uint64_t>(&byte);
    reader_tid = static_cast<pid_t>(syscall(SYS_gettid));
    (void)!read(fds[0], &byte, 1);
  });
  while (reader_tid == 0) std::this_thread::yield();
  std::optional<BlockedThreadSite> site;
  for (int attempt = 0; attempt < 1000 && !site; ++attempt) {
    site = TryReadBlockedThreadSite(getpid(), reader_tid);  // "running" until it blocks
    if (!site) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(site.has_value());
  // The kernel saved the pc of the instruction after `syscall` (0f 05).
  CHECK(std::memcmp(reinterpret_cast<const void*>(site->pc - 2), "\x0f\x05", 2) == 0);
  // And the stack pointer of read()'s frame: below the reader's own locals, not far.
  CHECK(site->stack_pointer < reader_frame);
  CHECK(reader_frame - site->stack_pointer < 64 * 1024);
  REQUIRE(write(fds[1], "x", 1) == 1);
  reader.join();
  close(fds[0]);
  close(fds[1]);
}

TEST_CASE("a running thread and a thread that is gone have no blocked site") {
  std::atomic<bool> stop{false};
  std::atomic<pid_t> spinner_tid{0};
  std::thread spinner([&] {
    spinner_tid = static_cast<pid_t>(syscall(SYS_gettid));
    while (!stop) {
    }
  });
  while (spinner_tid == 0) std::this_thread::yield();
  // Runnable counts as running (task_current_syscall reads the registers of a sleeping task only).
  CHECK_FALSE(TryReadBlockedThreadSite(getpid(), spinner_tid).has_value());
  stop = true;
  spinner.join();
  CHECK_FALSE(TryReadBlockedThreadSite(getpid(), spinner_tid).has_value());
}
