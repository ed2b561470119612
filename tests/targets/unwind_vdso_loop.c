// A thread that spends its time in the vDSO: clock_gettime in a loop, as hot real programs do.
// Prints "ready tid=T clock_loop=A".
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile long sink;
static pid_t loop_tid;

__attribute__((noinline)) void clock_loop(void) {
  for (;;) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    sink += now.tv_nsec;
  }
}

static void* loop_thread(void* arg) {
  (void)arg;
  __atomic_store_n(&loop_tid, gettid(), __ATOMIC_SEQ_CST);
  clock_loop();
  return NULL;
}

int main(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, loop_thread, NULL);
  while (__atomic_load_n(&loop_tid, __ATOMIC_SEQ_CST) == 0) usleep(1000);
  printf("ready tid=%d clock_loop=%p\n", loop_tid, (void*)clock_loop);
  fflush(stdout);
  pthread_join(thread, NULL);
  return 0;
}
