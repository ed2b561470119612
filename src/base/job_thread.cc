#include "base/job_thread.h"

#include <unistd.h>

#include <utility>

namespace hotpatch {

JobThread::JobThread() : thread_([this] { Run(); }) {
  while (tid_.load(std::memory_order_acquire) == 0) tid_.wait(0, std::memory_order_acquire);
}

JobThread::~JobThread() {
  try {
    Wait();
  } catch (...) {
    // The owner did not wait for this job: it is not interested in how it ended.
  }
  stopping_ = true;
  started_.fetch_add(1, std::memory_order_release);
  started_.notify_one();
  thread_.join();
}

void JobThread::Start(std::function<void()> job) {
  Wait();
  job_ = std::move(job);
  failure_ = nullptr;
  started_.fetch_add(1, std::memory_order_release);
  started_.notify_one();
}

void JobThread::Wait(std::chrono::microseconds spin) {
  uint32_t started = started_.load(std::memory_order_relaxed);
  auto spin_until = std::chrono::steady_clock::now() + spin;
  while (finished_.load(std::memory_order_acquire) != started &&
         std::chrono::steady_clock::now() < spin_until)
    __builtin_ia32_pause();
  for (uint32_t finished = finished_.load(std::memory_order_acquire); finished != started;
       finished = finished_.load(std::memory_order_acquire))
    finished_.wait(finished, std::memory_order_acquire);
  if (failure_) std::rethrow_exception(std::exchange(failure_, nullptr));
}

void JobThread::Run() {
  tid_.store(::gettid(), std::memory_order_release);
  tid_.notify_all();
  for (uint32_t done = 0;; ++done) {
    started_.wait(done, std::memory_order_acquire);
    if (stopping_) return;
    try {
      job_();
    } catch (...) {
      failure_ = std::current_exception();
    }
    job_ = nullptr;
    finished_.store(done + 1, std::memory_order_release);
    finished_.notify_one();
  }
}

}  // namespace hotpatch
