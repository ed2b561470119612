/* A target with a thread the kernel will not let stop: it called vfork() and its child never
 * execs nor exits, so the thread sleeps in wait_for_vfork_done() (TASK_KILLABLE, "D" in
 * /proc/PID/task/TID/status). Only a fatal signal wakes it: PTRACE_INTERRUPT sets a trap it takes
 * on its way back to user mode, which it never reaches while the child lives.
 *   hostile_vfork    prints "ready vfork_child=PID vforker=TID" once the thread is blocked;
 *                    SIGUSR1 prints "stats errors=E v1=A v2=B v3=C".
 *   hostile_vfork later   prints "ready"; the thread calls vfork() only on SIGUSR2, then prints
 *                    "blocked vfork_child=PID vforker=TID" (so a test can patch it first).
 * The child dies with its parent thread (PR_SET_PDEATHSIG) and in any case after 60 s (alarm). */
#define _GNU_SOURCE
#include <hotpatch/patch_area.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

/* A reserved area: the roll-back test needs a placement inside the module (a mapping could only
 * be removed inside a stop). */
HOTPATCH_DEFINE_AREAS(16 * 1024, 4 * 1024);

atomic_long version_seen[4];
atomic_long total_errors;
atomic_int vfork_child;
atomic_int vforker_tid;
atomic_int vfork_now;

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
  while (!atomic_load(&vfork_now)) usleep(1000);
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

/* Lets the vforker go and waits until it sleeps in vfork. */
static void VforkNow(const char* what) {
  atomic_store(&vfork_now, 1);
  int tid, child = 0;
  while ((tid = atomic_load(&vforker_tid)) == 0) usleep(1000);
  while ((child = FindVforkChild(tid)) == 0 || ThreadState(tid) != 'D') usleep(1000);
  printf("%s vfork_child=%d vforker=%d\n", what, child, tid);
  fflush(stdout);
}

int main(int argc, char** argv) {
  int later = argc > 1 && strcmp(argv[1], "later") == 0;
  sigset_t report;
  sigemptyset(&report);
  sigaddset(&report, SIGUSR1);
  sigaddset(&report, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &report, NULL);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_create(&t, NULL, vforker, NULL);
  if (later) {
    printf("ready\n");
    fflush(stdout);
  } else {
    VforkNow("ready");
  }
  for (;;) {
    int sig;
    if (sigwait(&report, &sig) != 0) continue;
    if (sig == SIGUSR2) {
      VforkNow("blocked");
      continue;
    }
    printf("stats errors=%ld v1=%ld v2=%ld v3=%ld\n", atomic_load(&total_errors),
           atomic_load(&version_seen[1]), atomic_load(&version_seen[2]),
           atomic_load(&version_seen[3]));
    fflush(stdout);
  }
}
