// Counts real-time signals (they queue, one delivery per send, unlike standard signals) received by
// any of N threads (argv[1], default 3). On SIGUSR1 the main thread prints "count <n>".
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static atomic_ulong received;

static void on_realtime_signal(int signal, siginfo_t* info, void* context) {
  (void)signal, (void)info, (void)context;
  atomic_fetch_add(&received, 1);
}

static void* work(void* arg) {
  (void)arg;
  volatile unsigned long sink = 0;
  for (;;) {
    for (int i = 0; i < 100000; ++i) sink += i;
    struct timespec nap = {0, 100000};
    nanosleep(&nap, NULL);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 3;
  struct sigaction action = {0};
  action.sa_sigaction = on_realtime_signal;
  action.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGRTMIN, &action, NULL);
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);
  for (int i = 0; i < threads; ++i) {
    pthread_t thread;
    pthread_create(&thread, NULL, work, NULL);
  }
  printf("ready %d\n", SIGRTMIN);
  fflush(stdout);
  for (;;) {
    int signal;
    sigwait(&usr1, &signal);
    printf("count %lu\n", atomic_load(&received));
    fflush(stdout);
  }
}
