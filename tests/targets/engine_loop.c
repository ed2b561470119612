/* The engine's main test target: worker threads call small functions in a tight loop and check
 * every result, while tests patch and revert those functions underneath them.
 *
 *   engine_loop [THREADS [PARK_MS]]   prints "ready" once the workers run; with PARK_MS a
 *                                     "parker" thread sits inside parked() that long, once.
 *   SIGUSR1      prints "stats errors=E calls=C v1=A v2=B v3=D signals=S parked=P"
 *                (v1..v3: how often version() returned 1..3; parked: 1 while inside parked()).
 *   SIGRTMIN     counted in `signals`: real-time signals queue, so a test can check that none
 *                of a stream sent with sigqueue() is lost.
 *
 * The patchable functions are noipa, not just noinline: GCC would otherwise propagate their
 * constant results into the callers (IPA-CP) and a patch of version() would never be observed.
 *
 * compute() must always return x * 3 + 1; every patch of it keeps that contract, so `errors`
 * counts calls that saw a half-written or wrongly relocated function. version() tells which
 * patch is live. */
#define _GNU_SOURCE
#include <hotpatch/patch_area.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

HOTPATCH_DEFINE_AREAS(64 * 1024, 16 * 1024);

static volatile int scale = 3;   /* a static the patches read: they must bind to this storage
                                    (volatile, or GCC folds it into compute() and drops it) */
__thread long thread_calls;      /* a thread-local the patches update */
atomic_long total_errors;
atomic_long total_calls;
atomic_long version_seen[4];
atomic_long signals_seen;
int table[16];                   /* filled by the run-once init */

__attribute__((noipa)) int compute(int x) { return x * scale + 1; }

__attribute__((noipa)) int version(void) { return 1; }

/* Never returns: the engine must refuse to patch it. */
__attribute__((noipa)) void spin_forever(volatile int* stop) {
  for (;;)
    if (*stop == 12345) __asm__ volatile("" ::: "memory");
}

/* Init-only code, large enough to host a small patch once init is declared done: 64 separate
 * volatile stores keep the compiler from folding it into a loop. */
#define STORE4(n) \
  slots[n] = n * 7; slots[n + 1] = n * 11; slots[n + 2] = n * 13; slots[n + 3] = n * 17;
static volatile int slots[64];
HOTPATCH_RUN_ONCE void init_tables(void) {
  for (int i = 0; i < 16; ++i) table[i] = i * i;
  STORE4(0) STORE4(4) STORE4(8) STORE4(12) STORE4(16) STORE4(20) STORE4(24) STORE4(28)
  STORE4(32) STORE4(36) STORE4(40) STORE4(44) STORE4(48) STORE4(52) STORE4(56) STORE4(60)
}

atomic_int parked_now;
__attribute__((noipa)) void parked(int ms) {
  atomic_store(&parked_now, 1);
  usleep((useconds_t)ms * 1000);
  atomic_store(&parked_now, 0);
}

static void* parker(void* arg) {
  parked((int)(long)arg);
  for (;;) pause();
  return NULL;
}

static void* worker(void* arg) {
  (void)arg;
  for (;;) {
    for (int i = 0; i < 1000; ++i) {
      if (compute(i) != i * 3 + 1) atomic_fetch_add(&total_errors, 1);
      int v = version();
      if (v >= 1 && v <= 3) atomic_fetch_add(&version_seen[v], 1);
      else atomic_fetch_add(&total_errors, 1);
      thread_calls++;
    }
    atomic_fetch_add(&total_calls, 1000);
  }
  return NULL;
}

static void* spinner(void* arg) {
  static volatile int stop;
  (void)arg;
  spin_forever(&stop);
  return NULL;
}

static void on_signal(int sig) {
  (void)sig;
  atomic_fetch_add(&signals_seen, 1);
}

static void* reporter(void* arg) {
  sigset_t* wanted = arg;
  for (;;) {
    int sig = 0;
    if (sigwait(wanted, &sig) != 0) continue;
    printf("stats errors=%ld calls=%ld v1=%ld v2=%ld v3=%ld signals=%ld parked=%d\n",
           atomic_load(&total_errors), atomic_load(&total_calls), atomic_load(&version_seen[1]),
           atomic_load(&version_seen[2]), atomic_load(&version_seen[3]),
           atomic_load(&signals_seen), atomic_load(&parked_now));
    fflush(stdout);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 4;
  int park_ms = argc > 2 ? atoi(argv[2]) : 0;
  init_tables();
  hotpatch_declare_init_done();

  /* SIGUSR1 only for the reporter (sigwait); every thread inherits the mask. */
  static sigset_t report;
  sigemptyset(&report);
  sigaddset(&report, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &report, NULL);
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sa.sa_flags = SA_RESTART;
  sigaction(SIGRTMIN, &sa, NULL);

  pthread_t t;
  pthread_create(&t, NULL, reporter, &report);
  pthread_setname_np(t, "reporter");
  for (int i = 0; i < threads; ++i) {
    pthread_create(&t, NULL, worker, NULL);
    char name[16];
    snprintf(name, sizeof name, "worker%d", i % 1000);
    pthread_setname_np(t, name);
  }
  if (park_ms > 0) {
    pthread_create(&t, NULL, parker, (void*)(long)park_ms);
    pthread_setname_np(t, "parker");
    while (!atomic_load(&parked_now)) usleep(100);
  }
  pthread_create(&t, NULL, spinner, NULL);
  pthread_setname_np(t, "spinner");
  printf("ready\n");
  fflush(stdout);
  for (;;) pause();
}
