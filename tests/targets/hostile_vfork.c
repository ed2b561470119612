/* A target with a thread the kernel will not let stop: it called vfork() and its child never
 * execs nor exits, so the thread sleeps in wait_for_vfork_done() (TASK_KILLABLE, "D" in
 * /proc/PID/task/TID/status). Only a fatal signal wakes it: PTRACE_INTERRUPT sets a trap it takes
 * on its way back to user mode, which it never reaches while the child lives.
 *   hostile_vfork    prints "ready vfork_child=PID vforker=TID" once the thread is blocked;
 *                    SIGUSR1 prints "stats errors=E v1=A v2=B v3=C".
 * The child dies with its parent thread (PR_SET_PDEATHSIG) and in any case after 60 s (alarm). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

atomic_long version_seen[4];
atomic_long total_errors;
atomic_int vfork_child;
atomic_int vforker_tid;

__attribute__((noipa)) int version(void) {
  return 1;
}

static void* worker(void* arg) {
  (void)arg;
  for (;;) {
    int v = version();
    if (v >= 1 && v <= 3)
      atomic_fetch_add(&version_seen[v], 1);
    else
      atomic_fetch_add(&total_errors, 1);
  }
  return NULL;
}

static void* vforker(void* arg) {
  (void)arg;
  atomic_store(&vforker_tid, (int)syscall(SYS_gettid));
  pid_t child = vfork();
  if (child == 0) {
    /* The vfork child borrows our stack and memory: raw system calls only, never return. */
    syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0L, 0L, 0L);
    syscall(SYS_alarm, 60);
    for (;;) syscall(SYS_pause);
  }
  return NULL; /* not reached while the child lives */
}

/* The vfork child's pid, found through the vforker's children list (Linux 3.5+). */
static int FindVforkChild(int tid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/task/%d/children", tid);
  FILE* f = fopen(path, "r");
  if (f == NULL) return 0;
  int child = 0;
  if (fscanf(f, "%d", &child) != 1) child = 0;
  fclose(f);
  return child;
}

static char ThreadState(int tid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
  FILE* f = fopen(path, "r");
  if (f == NULL) return '?';
  char state = '?';
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "State:", 6) == 0) sscanf(line + 6, " %c", &state);
  fclose(f);
  return state;
}

int main(void) {
  sigset_t report;
  sigemptyset(&report);
  sigaddset(&report, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &report, NULL);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_create(&t, NULL, vforker, NULL);
  int tid, child = 0;
  while ((tid = atomic_load(&vforker_tid)) == 0) usleep(1000);
  while ((child = FindVforkChild(tid)) == 0 || ThreadState(tid) != 'D') usleep(1000);
  printf("ready vfork_child=%d vforker=%d\n", child, tid);
  fflush(stdout);
  for (;;) {
    int sig;
    if (sigwait(&report, &sig) != 0) continue;
    printf("stats errors=%ld v1=%ld v2=%ld v3=%ld\n", atomic_load(&total_errors),
           atomic_load(&version_seen[1]), atomic_load(&version_seen[2]),
           atomic_load(&version_seen[3]));
    fflush(stdout);
  }
}
