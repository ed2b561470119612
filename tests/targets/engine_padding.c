/* A target whose only dead code is inter-function padding: no reserved areas, no run-once code,
 * but functions aligned to 512 bytes, so the linker fills the ~500 bytes after each short one
 * with nops (ld fills gaps in code sections with nop, gas pads .p2align in code the same way).
 *
 *   engine_padding [THREADS]   prints "ready" once the workers run.
 *   SIGUSR1    prints "stats errors=E calls=C v1=A v2=B".
 *
 * The functions are noipa (see engine_loop.c); compute() must always return x * 3 + 1. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

static atomic_long total_errors, total_calls, version_seen[3];

__attribute__((noipa, aligned(512))) int version(void) {
  return 1;
}

__attribute__((noipa, aligned(512))) int compute(int x) {
  return x * 3 + 1;
}

__attribute__((aligned(512))) static void* worker(void* arg) {
  (void)arg;
  for (;;) {
    for (int i = 0; i < 1000; ++i) {
      if (compute(i) != i * 3 + 1) atomic_fetch_add(&total_errors, 1);
      int v = version();
      if (v == 1 || v == 2)
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
    printf("stats errors=%ld calls=%ld v1=%ld v2=%ld\n", atomic_load(&total_errors),
           atomic_load(&total_calls), atomic_load(&version_seen[1]), atomic_load(&version_seen[2]));
    fflush(stdout);
  }
}
