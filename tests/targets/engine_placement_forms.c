/* A target whose smaller placements are deliberately small, so that a few patches fill them and
 * `auto` must move on: a one-page reserved code area, and one run-once function (init declared
 * done) of about 2.5 KiB.
 *
 *   engine_placement_forms [THREADS]   prints "ready" once the workers run.
 *   SIGUSR1    prints "stats errors=E calls=C v1=.. v2=.. ... v15=.." (how often version()
 *              returned each value; anything outside 1..15 counts as an error).
 *
 * version() is noipa so that its constant result is not propagated into the workers (IPA-CP). */
#define _GNU_SOURCE
#include <hotpatch/patch_area.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

HOTPATCH_DEFINE_AREAS(4096, 4096);

#define MAX_VERSION 15
static atomic_long total_errors, total_calls, version_seen[MAX_VERSION + 1];

__attribute__((noipa)) int version(void) {
  return 1;
}

/* 256 separate volatile stores (about 10 bytes each) keep the compiler from folding the
 * init into a loop, so the run-once section holds a couple of patches, not dozens. */
static volatile int slots[256];
#define STORE4(n)        \
  slots[n] = n * 7;      \
  slots[n + 1] = n * 11; \
  slots[n + 2] = n * 13; \
  slots[n + 3] = n * 17;
#define STORE32(n)                                                                        \
  STORE4(n)                                                                               \
  STORE4(n + 4) STORE4(n + 8) STORE4(n + 12) STORE4(n + 16) STORE4(n + 20) STORE4(n + 24) \
      STORE4(n + 28)
HOTPATCH_RUN_ONCE void init_slots(void) {
  STORE32(0) STORE32(32) STORE32(64) STORE32(96) STORE32(128) STORE32(160) STORE32(192) STORE32(224)
}

static void* worker(void* arg) {
  (void)arg;
  for (;;) {
    for (int i = 0; i < 1000; ++i) {
      int v = version();
      if (v >= 1 && v <= MAX_VERSION)
        atomic_fetch_add(&version_seen[v], 1);
      else
        atomic_fetch_add(&total_errors, 1);
    }
    atomic_fetch_add(&total_calls, 1000);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  init_slots();
  hotpatch_declare_init_done();
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);  // before any thread: all inherit it
  for (int i = 0; i < threads; ++i) {
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_setname_np(t, "worker");
  }
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int sig = 0;
    if (sigwait(&usr1, &sig) != 0) continue;
    printf("stats errors=%ld calls=%ld", atomic_load(&total_errors), atomic_load(&total_calls));
    for (int v = 1; v <= MAX_VERSION; ++v) printf(" v%d=%ld", v, atomic_load(&version_seen[v]));
    printf("\n");
    fflush(stdout);
  }
}
