/* A thread whose never-ending loop runs through the function's .cold part: the rare branch calls
 * a cold function, so GCC (-freorder-blocks-and-partition, on at -O2) moves that block to
 * cold_loop.cold, which jumps back into the hot loop. The hot part alone has a jump leaving it;
 * only with .cold decoded too is it clear that the function never returns.
 *
 *   engine_cold_loop    prints "ready" once the looping thread ("looper") is inside the loop. */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile long sink;
static volatile int rare;
static volatile int looping;  // set from inside the loop, so "ready" means the thread is in it

__attribute__((noinline)) void loop_work(void) {
  struct timespec pause_time = {0, 1000000};
  nanosleep(&pause_time, NULL);
  sink++;
  looping = 1;
}

__attribute__((noinline, cold)) void rare_event(volatile int* flag) {
  fprintf(stderr, "rare event %d\n", *flag);
}

__attribute__((noipa)) void cold_loop(volatile int* flag) {
  for (;;) {
    if (*flag != 0) {
      rare_event(flag);
      *flag = 0;
      sink += 3;
    }
    loop_work();
  }
}

static void* looper(void* arg) {
  (void)arg;
  cold_loop(&rare);
  return NULL;
}

int main(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, looper, NULL);
  pthread_setname_np(thread, "looper");
  while (!looping) usleep(1000);
  printf("ready\n");
  fflush(stdout);
  for (;;) pause();
}
