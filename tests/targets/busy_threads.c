// N threads (argv[1], default 4) call a noinline function in a tight loop and check every result,
// so that a stop/resume that corrupts a register or loses a step is seen. Exits with status 3 on
// a wrong result. On SIGUSR1 the main thread prints "counters <total calls> errors <count>".
// With argv[2] = "leader-exits", a "reporter" thread answers SIGUSR1 instead, and the main thread
// calls pthread_exit on SIGUSR2, leaving a zombie thread-group leader behind.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static atomic_ulong total_calls;

__attribute__((noinline)) unsigned long mix(unsigned long x) {
  __asm__ volatile("" : "+r"(x));  // keep the call and its arithmetic
  return x * 2654435761UL + 12345UL;
}

static void* spin(void* arg) {
  unsigned long seed = (unsigned long)(size_t)arg;
  for (unsigned long i = 0;; ++i) {
    unsigned long x = seed * 1000003UL + i;
    unsigned long got = mix(x);
    if (got != x * 2654435761UL + 12345UL) {
      printf("error thread %lu: mix(%lu) = %lu\n", seed, x, got);
      fflush(stdout);
      exit(3);
    }
    if ((i & 1023) == 0) atomic_fetch_add(&total_calls, 1024);
  }
  return NULL;
}

static void* report_counters(void* arg) {
  (void)arg;
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  for (;;) {
    int signal;
    sigwait(&usr1, &signal);
    printf("counters %lu errors 0\n", atomic_load(&total_calls));
    fflush(stdout);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 4;
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigaddset(&usr1, SIGUSR2);
  // Blocked in every thread (inherited), taken synchronously by sigwait.
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);
  for (int i = 0; i < threads; ++i) {
    pthread_t thread;
    pthread_create(&thread, NULL, spin, (void*)(size_t)(i + 1));
    char name[16];
    snprintf(name, sizeof name, "busy-%d", i);
    pthread_setname_np(thread, name);
  }
  if (argc > 2 && strcmp(argv[2], "leader-exits") == 0) {
    sigset_t usr2;
    sigemptyset(&usr2);
    sigaddset(&usr2, SIGUSR2);
    pthread_t thread;
    pthread_create(&thread, NULL, report_counters, NULL);
    pthread_setname_np(thread, "reporter");
    printf("ready %d\n", threads);
    fflush(stdout);
    int signal;
    sigwait(&usr2, &signal);
    pthread_exit(NULL);
  }
  printf("ready %d\n", threads);
  fflush(stdout);
  report_counters(NULL);
}
