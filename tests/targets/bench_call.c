/* The call-overhead benchmark's target: measures, in itself, the cost of one call of
 * bench_callee(), so the benchmark can compare the function as built with the same code reached
 * through a patch's entry jump.
 *
 *   bench_call      prints "ready"; then on each SIGUSR1 runs the measurement and prints
 *                   "ns_per_call=<best of 7 runs of 2,000,000 calls>".
 *
 * The measurement runs in the thread that took the signal, so while nobody asks the target is
 * idle (sigwait) and a patch lands at the first attempt. bench_callee() is noipa: the call must
 * stay a call. */
#define _GNU_SOURCE
#include <hotpatch/patch_area.h>
#include <signal.h>
#include <stdio.h>
#include <time.h>

HOTPATCH_DEFINE_AREAS(64 * 1024, 16 * 1024);

__attribute__((noipa)) unsigned long bench_callee(unsigned long x) {
  return x * 2654435761UL + 12345UL;
}

enum { kCalls = 2000000, kRuns = 7 };

static double NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double BestNsPerCall(void) {
  double best = 1e18;
  for (int run = 0; run < kRuns; ++run) {
    unsigned long sum = 0;
    double begin = NowNs();
    for (unsigned long i = 0; i < kCalls; ++i) sum += bench_callee(i);
    double ns = (NowNs() - begin) / kCalls;
    __asm__ volatile("" ::"r"(sum)); /* the result is used: the calls stay */
    if (ns < best) best = ns;
  }
  return best;
}

int main(void) {
  sigset_t measure;
  sigemptyset(&measure);
  sigaddset(&measure, SIGUSR1);
  sigprocmask(SIG_BLOCK, &measure, NULL);
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int sig = 0;
    if (sigwait(&measure, &sig) != 0) continue;
    printf("ns_per_call=%.4f\n", BestNsPerCall());
    fflush(stdout);
  }
}
