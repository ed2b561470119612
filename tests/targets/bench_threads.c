/* The pause benchmark's target: THREADS workers that each call bench_tick() once per round, the
 * one function the benchmark patches and reverts.
 *
 *   bench_threads THREADS busy|idle
 *     busy: every worker spins without pause (a vCPU in guest mode);
 *     idle: every round is 20 us of work then a 1 ms sleep (a device thread), as in issue 6.
 *   prints "ready tick=0x<address of bench_tick>" once every worker has run a round.
 *   SIGUSR1 prints "stats errors=E rounds=R".
 *
 * bench_tick() is noipa: GCC must neither inline it nor propagate its result into the callers, or
 * a patch of it would never be observed. Every patch keeps its contract (x * 3 + 1), so `errors`
 * counts calls that saw a half-written entry. */
#define _GNU_SOURCE
#include <hotpatch/patch_area.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

HOTPATCH_DEFINE_AREAS(64 * 1024, 16 * 1024);

static atomic_long total_errors;
static atomic_long total_rounds;
static atomic_int workers_started;
static int idle_load;

__attribute__((noipa)) long bench_tick(long x) {
  return x * 3 + 1;
}

static long NowNs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000L + ts.tv_nsec;
}

/* Work that is not bench_tick: a thread stopped here passes the safety check. */
static void SpinFor(long ns) {
  long until = NowNs() + ns;
  while (NowNs() < until) {
    for (volatile int i = 0; i < 100; ++i) {
    }
  }
}

static void* worker(void* arg) {
  long seed = (long)arg;
  atomic_fetch_add(&workers_started, 1);
  for (long round = 0;; ++round) {
    SpinFor(20000);
    long x = seed * 1000003L + round;
    if (bench_tick(x) != x * 3 + 1) atomic_fetch_add(&total_errors, 1);
    atomic_fetch_add_explicit(&total_rounds, 1, memory_order_relaxed);
    if (idle_load) {
      struct timespec ms = {0, 1000000};
      nanosleep(&ms, NULL);
    }
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 8;
  idle_load = argc > 2 && strcmp(argv[2], "idle") == 0;

  /* SIGUSR1 is taken by the main thread's sigwait; every worker inherits the mask. */
  sigset_t report;
  sigemptyset(&report);
  sigaddset(&report, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &report, NULL);

  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setstacksize(&attr, 256 * 1024); /* 256 threads stay cheap */
  for (int i = 0; i < threads; ++i) {
    pthread_t t;
    if (pthread_create(&t, &attr, worker, (void*)(long)(i + 1)) != 0) {
      perror("pthread_create");
      return 1;
    }
    char name[16];
    snprintf(name, sizeof name, "worker%d", i % 1000);
    pthread_setname_np(t, name);
  }
  while (atomic_load(&workers_started) < threads) {
    struct timespec ms = {0, 1000000};
    nanosleep(&ms, NULL);
  }
  printf("ready tick=%p\n", (void*)&bench_tick);
  fflush(stdout);
  for (;;) {
    int sig = 0;
    if (sigwait(&report, &sig) != 0) continue;
    printf("stats errors=%ld rounds=%ld\n", atomic_load(&total_errors), atomic_load(&total_rounds));
    fflush(stdout);
  }
}
