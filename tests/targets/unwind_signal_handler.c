// A thread interrupted by SIGUSR1 in interrupted_function(), whose handler then blocks for good
// in handler_blocks(): its stack holds the kernel's signal frame (returning to __restore_rt).
// Prints "ready tid=T interrupted_function=A signal_handler=A handler_blocks=A" from the handler.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int block_pipe[2];
static volatile int sink;
static volatile int spinning;

__attribute__((noinline)) void interrupted_function(void) {
  spinning = 1;
  for (;;) sink++;
}

__attribute__((noinline)) void handler_blocks(void) {
  char byte;
  while (read(block_pipe[0], &byte, 1) != 1) {
  }
  sink++;
}

void signal_handler(int signal_number);

__attribute__((noinline)) void signal_handler(int signal_number) {
  (void)signal_number;
  // printf is not async-signal-safe in general; here the interrupted code never holds stdio.
  printf("ready tid=%d interrupted_function=%p signal_handler=%p handler_blocks=%p\n", gettid(),
         (void*)interrupted_function, (void*)signal_handler, (void*)handler_blocks);
  fflush(stdout);
  handler_blocks();
  sink++;
}

static void* spinning_thread(void* arg) {
  (void)arg;
  interrupted_function();
  return NULL;
}

int main(void) {
  if (pipe(block_pipe) != 0) return 1;
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = signal_handler;
  sigaction(SIGUSR1, &action, NULL);
  pthread_t thread;
  pthread_create(&thread, NULL, spinning_thread, NULL);
  while (!spinning) usleep(1000);
  pthread_kill(thread, SIGUSR1);
  pthread_join(thread, NULL);
  return 0;
}
