/* A function shorter than the 5-byte entry jump: tiny() is `lea 0x1(%rdi),%eax; ret` (4 bytes),
 * followed by the compiler's nop fill up to the next 16-byte boundary.
 *   engine_short_function    prints "ready"; SIGUSR1 prints "stats errors=E v1=A v2=B"
 *   (v1: tiny(x) returned x + 1, the original; v2: x + 2, the patch). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>

atomic_long seen[3];
atomic_long errors;

__attribute__((noipa, aligned(16))) int tiny(int x) { return x + 1; }

static void* worker(void* arg) {
  (void)arg;
  for (int i = 0;; i = (i + 1) & 0xffff) {
    int r = tiny(i);
    if (r == i + 1) atomic_fetch_add(&seen[1], 1);
    else if (r == i + 2) atomic_fetch_add(&seen[2], 1);
    else atomic_fetch_add(&errors, 1);
  }
  return NULL;
}

int main(void) {
  sigset_t report;
  sigemptyset(&report);
  sigaddset(&report, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &report, NULL);
  pthread_t t;
  for (int i = 0; i < 2; ++i) pthread_create(&t, NULL, worker, NULL);
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int sig;
    if (sigwait(&report, &sig) != 0) continue;
    printf("stats errors=%ld v1=%ld v2=%ld\n", atomic_load(&errors), atomic_load(&seen[1]),
           atomic_load(&seen[2]));
    fflush(stdout);
  }
}
