#include <unistd.h>

#include <catch2/catch.hpp>
#include <latch>
#include <thread>
#include <vector>

#include "process/thread_status.h"
#include "support/target_process.h"

using namespace hotpatch;

TEST_CASE("TryCountThreads counts the threads /proc/PID/task lists, as they come and go") {
  pid_t self = getpid();
  REQUIRE(TryCountThreads(self) == ListThreads(self).size());
  size_t before = ListThreads(self).size();
  std::latch release(1);
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back([&] { release.wait(); });
  CHECK(TryCountThreads(self) == before + 3);
  CHECK(TryCountThreads(self) == ListThreads(self).size());
  release.count_down();
  for (auto& thread : threads) thread.join();
  CHECK(TryCountThreads(self) == before);
}

TEST_CASE("TryCountThreads of a process that is gone is nullopt") {
  pid_t gone;
  {
    test::TargetProcess target(test::TargetPath("plain_loop"));
    gone = target.pid();
  }
  CHECK_FALSE(TryCountThreads(gone).has_value());
}
