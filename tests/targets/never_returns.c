// A thread whose main loop never returns: main_loop() calls do_work() forever. A stack check for
// replacing main_loop can never pass; the engine must say so (and suggest patching do_work).
// Prints "ready tid=T main_loop=A do_work=A".
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static volatile long sink;
static pid_t loop_tid;

__attribute__((noinline)) void do_work(void) {
  struct timespec pause_time = {0, 1000000};
  nanosleep(&pause_time, NULL);
  sink++;
}

__attribute__((noinline, noreturn)) void main_loop(void) {
  for (;;) do_work();
}

static void* loop_thread(void* arg) {
  (void)arg;
  __atomic_store_n(&loop_tid, gettid(), __ATOMIC_SEQ_CST);
  main_loop();
}

int main(void) {
  pthread_t thread;
  pthread_create(&thread, NULL, loop_thread, NULL);
  while (__atomic_load_n(&loop_tid, __ATOMIC_SEQ_CST) == 0) usleep(1000);
  printf("ready tid=%d main_loop=%p do_work=%p\n", loop_tid, (void*)main_loop, (void*)do_work);
  fflush(stdout);
  pthread_join(thread, NULL);
  return 0;
}
