/* Threads are born and die all the time, and each calls the patchable functions: a creator
 * thread keeps a few short-lived detached threads in flight, each of which calls churn_compute()
 * and churn_version() a few thousand times, checks every result, and exits.
 *
 *   engine_thread_churn     prints "ready" once the creator runs.
 *   SIGUSR1      prints "stats errors=E created=C finished=F v1=A v2=B".
 *
 * churn_compute() must always return x * 3 + 1 (patches keep that contract). noipa: see
 * engine_loop.c. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static atomic_long total_errors, created, finished, version_seen[3];

__attribute__((noipa)) int churn_compute(int x) {
  return x * 3 + 1;
}

__attribute__((noipa)) int churn_version(void) {
  return 1;
}

static void* short_lived(void* arg) {
  (void)arg;
  for (int i = 0; i < 2000; ++i) {
    if (churn_compute(i) != i * 3 + 1) atomic_fetch_add(&total_errors, 1);
    int v = churn_version();
    if (v == 1 || v == 2)
      atomic_fetch_add(&version_seen[v], 1);
    else
      atomic_fetch_add(&total_errors, 1);
  }
  atomic_fetch_add(&finished, 1);
  return NULL;
}

static void* creator(void* arg) {
  (void)arg;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (;;) {
    // A few in flight, not thousands: enough that every stop meets births and deaths.
    if (atomic_load(&created) - atomic_load(&finished) < 4) {
      pthread_t thread;
      if (pthread_create(&thread, &attr, short_lived, NULL) == 0) atomic_fetch_add(&created, 1);
    } else {
      struct timespec nap = {0, 50000};
      nanosleep(&nap, NULL);
    }
  }
  return NULL;
}

int main(void) {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);  // before any thread: all inherit it
  pthread_t thread;
  pthread_create(&thread, NULL, creator, NULL);
  pthread_setname_np(thread, "creator");
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int sig = 0;
    if (sigwait(&usr1, &sig) != 0) continue;
    printf("stats errors=%ld created=%ld finished=%ld v1=%ld v2=%ld\n", atomic_load(&total_errors),
           atomic_load(&created), atomic_load(&finished), atomic_load(&version_seen[1]),
           atomic_load(&version_seen[2]));
    fflush(stdout);
  }
}
