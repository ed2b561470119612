/* A thread whose stack runs through patch code (tests/integration/engine/patch_cfi_test.cc).
 *
 *   patch_code_frames   prints "ready" while its "caller" thread waits; SIGUSR1 starts it, and
 *                       from then on it calls middle() -> inner() in a loop, so that once inner()
 *                       is patched the thread is nearly always inside the replacement, below
 *                       middle(). Prints "started" when it has begun.
 *
 * Both functions are noipa: GCC would otherwise inline or clone them, and the patches would
 * never run. */
#define _GNU_SOURCE
#include <hotpatch/patch_area.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <unistd.h>

HOTPATCH_DEFINE_AREAS(64 * 1024, 16 * 1024);

static atomic_int started;
atomic_long middle_calls;

__attribute__((noipa)) void inner(void) { usleep(1000); }

__attribute__((noipa)) void middle(void) {
  inner();
  atomic_fetch_add(&middle_calls, 1);
}

static void* caller(void* arg) {
  (void)arg;
  while (!atomic_load(&started)) usleep(1000);
  printf("started\n");
  fflush(stdout);
  for (;;) middle();
  return NULL;
}

int main(void) {
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);
  pthread_t thread;
  pthread_create(&thread, NULL, caller, NULL);
  pthread_setname_np(thread, "caller");
  printf("ready\n");
  fflush(stdout);
  int signal;
  sigwait(&usr1, &signal);
  atomic_store(&started, 1);
  for (;;) pause();
}
