/* A plain target meant to be copied and run from elsewhere: the tests replace or delete its file
 * after it started, or run it in another mount namespace behind a bind mount, so that the path in
 * /proc/PID/maps names other bytes (or none) than those mapped.
 *   hostile_copy     prints "ready"; SIGUSR1 prints "stats errors=E v1=A v2=B v3=C".
 * Deliberately different from plain_loop (its build-id must differ): it also counts calls. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

atomic_long version_seen[4];
atomic_long total_errors;
atomic_long total_calls;

__attribute__((noipa)) int version(void) {
  return 1;
}

static void* worker(void* arg) {
  (void)arg;
  for (;;) {
    int v = version();
    if (v >= 1 && v <= 3)
      atomic_fetch_add(&version_seen[v], 1);
    else
      atomic_fetch_add(&total_errors, 1);
    atomic_fetch_add(&total_calls, 1);
  }
  return NULL;
}

int main(void) {
  sigset_t report;
  sigemptyset(&report);
  sigaddset(&report, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &report, NULL);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int sig;
    if (sigwait(&report, &sig) != 0) continue;
    printf("stats errors=%ld v1=%ld v2=%ld v3=%ld calls=%ld\n", atomic_load(&total_errors),
           atomic_load(&version_seen[1]), atomic_load(&version_seen[2]),
           atomic_load(&version_seen[3]), atomic_load(&total_calls));
    fflush(stdout);
  }
}
