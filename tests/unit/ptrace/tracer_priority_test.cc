// The engine's tracer thread at SCHED_FIFO 2 for the stop, and back to exactly what it was.
#include "engine/tracer_priority.h"

#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <thread>

#include "process/scheduling_boost.h"

using namespace hotpatch;

namespace {

constexpr uint64_t kResetOnFork = 0x01;  // SCHED_FLAG_RESET_ON_FORK

void SetOwnAttributes(uint32_t policy, int32_t nice, uint32_t priority = 0) {
  SchedulingAttributes attributes;
  attributes.policy = policy;
  attributes.nice = nice;
  attributes.priority = priority;
  REQUIRE(syscall(SYS_sched_setattr, gettid(), &attributes, 0) == 0);
}

SchedulingAttributes OwnAttributes() {
  std::optional<SchedulingAttributes> attributes = TryReadSchedulingAttributes(gettid());
  REQUIRE(attributes.has_value());
  return *attributes;
}

// Each case on a thread of its own: the test runner's thread keeps its scheduling.
template <class Body>
void OnOwnThread(Body body) {
  std::thread(body).join();
}

}  // namespace

TEST_CASE("ScopedTracerPriority raises a normal thread to SCHED_FIFO 2 and restores it exactly") {
  OnOwnThread([] {
    SetOwnAttributes(SCHED_OTHER, 3);
    {
      ScopedTracerPriority priority(true);
      REQUIRE(priority.raised());  // the suite runs as root (CAP_SYS_NICE)
      SchedulingAttributes raised = OwnAttributes();
      CHECK(raised.policy == SCHED_FIFO);
      CHECK(raised.priority == 2);
      CHECK((raised.flags & kResetOnFork) != 0);
      // A thread started meanwhile (a daemon's worker) does not inherit real-time scheduling.
      SchedulingAttributes child;
      std::thread([&] { child = OwnAttributes(); }).join();
      CHECK(child.policy == SCHED_OTHER);
    }
    SchedulingAttributes after = OwnAttributes();
    CHECK(after.policy == SCHED_OTHER);
    CHECK(after.nice == 3);
    CHECK((after.flags & kResetOnFork) == 0);
  });
}

TEST_CASE("ScopedTracerPriority leaves a real-time caller, and a disabled one, as they are") {
  OnOwnThread([] {
    SetOwnAttributes(SCHED_OTHER, 0);
    {
      ScopedTracerPriority priority(false);
      CHECK_FALSE(priority.raised());
      CHECK(OwnAttributes().policy == SCHED_OTHER);
    }
    SetOwnAttributes(SCHED_FIFO, 0, 7);
    {
      ScopedTracerPriority priority(true);
      CHECK_FALSE(priority.raised());
      CHECK(OwnAttributes().priority == 7);
    }
    SchedulingAttributes after = OwnAttributes();
    CHECK(after.policy == SCHED_FIFO);
    CHECK(after.priority == 7);
    SetOwnAttributes(SCHED_OTHER, 0);
  });
}
