// Threads are created and exit continuously: a creator thread keeps starting short-lived detached
// threads. On SIGUSR1 the main thread prints "created <n> finished <m>".
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

static atomic_ulong created, finished;

static void* short_lived(void* arg) {
  (void)arg;
  volatile unsigned long sink = 0;
  for (int i = 0; i < 20000; ++i) sink += i;
  atomic_fetch_add(&finished, 1);
  return NULL;
}

static void* creator(void* arg) {
  (void)arg;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  for (;;) {
    // Keep a few in flight, not thousands.
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
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);
  pthread_t thread;
  pthread_create(&thread, NULL, creator, NULL);
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int signal;
    sigwait(&usr1, &signal);
    printf("created %lu finished %lu\n", atomic_load(&created), atomic_load(&finished));
    fflush(stdout);
  }
}
