#include "base/job_thread.h"

#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <stdexcept>

using hotpatch::JobThread;

TEST_CASE("JobThread runs each job on its own thread, one after the other") {
  JobThread thread;
  REQUIRE(thread.tid() > 0);
  CHECK(thread.tid() != gettid());
  std::atomic<pid_t> ran_on{0};
  int runs = 0;
  for (int i = 0; i < 100; ++i) {
    thread.Start([&] {
      ran_on = gettid();
      ++runs;  // never concurrent with the owner: it waits before reading
    });
    thread.Wait(std::chrono::microseconds(i % 2 ? 50 : 0));
    CHECK(ran_on == thread.tid());
  }
  CHECK(runs == 100);
}

TEST_CASE("JobThread::Wait rethrows what the job threw, once") {
  JobThread thread;
  thread.Start([] { throw std::runtime_error("walk failed"); });
  CHECK_THROWS_WITH(thread.Wait(), "walk failed");
  CHECK_NOTHROW(thread.Wait());
  // A job nobody waited for is waited for by the next Start, and by the destructor.
  int later = 0;
  thread.Start([] {});
  thread.Start([&] { later = 1; });
  thread.Wait();
  CHECK(later == 1);
  thread.Start([] { usleep(1000); });
}
