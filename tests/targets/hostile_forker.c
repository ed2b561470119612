/* A target that keeps creating child processes that exec, in the three ways a process can:
 * fork() (clone with SIGCHLD), posix_spawn() (clone with CLONE_VM|CLONE_VFORK) and a raw clone()
 * whose exit signal is not SIGCHLD. PTRACE_O_TRACECLONE attaches the last kind automatically
 * (ptrace(2): it catches every clone that is neither vfork-like nor signals SIGCHLD), so a tracer
 * of this process is handed processes that are not its threads.
 *   hostile_forker         prints "ready"; a thread starts a child every 5 ms, each child execs
 *                          /bin/sleep 2 and is reaped when it exits.
 *   SIGUSR1                prints "stats errors=E v1=A v2=B v3=C spawned=S failed=F".
 * Children die with the spawning thread (PR_SET_PDEATHSIG survives execve). */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

atomic_long version_seen[4];
atomic_long total_errors;
atomic_long spawned;
atomic_long failed;

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

static char* const sleep_argv[] = {"sleep", "2", NULL};

static void ExecSleepInChild(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  execve("/bin/sleep", sleep_argv, environ);
  _exit(127);
}

static pid_t Spawn(int kind) {
  pid_t child = -1;
  if (kind == 0) {
    child = fork();
    if (child == 0) ExecSleepInChild();
  } else if (kind == 1) {
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    if (posix_spawn(&child, "/bin/sleep", NULL, &attr, sleep_argv, environ) != 0) child = -1;
    posix_spawnattr_destroy(&attr);
  } else {
    /* No CLONE_VM: the child gets a copy of our memory and stack, like fork, but its exit
     * signal is 0, so only waits with __WALL see it. */
    child = (pid_t)syscall(SYS_clone, 0L, NULL, NULL, NULL, 0L);
    if (child == 0) ExecSleepInChild();
  }
  return child;
}

static void* spawner(void* arg) {
  (void)arg;
  for (long n = 0;; ++n) {
    if (Spawn((int)(n % 3)) > 0)
      atomic_fetch_add(&spawned, 1);
    else
      atomic_fetch_add(&failed, 1);
    int status;
    while (waitpid(-1, &status, WNOHANG | __WALL) > 0) {
    }
    usleep(5000);
  }
  return NULL;
}

int main(void) {
  sigset_t report;
  sigemptyset(&report);
  sigaddset(&report, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &report, NULL);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_create(&t, NULL, spawner, NULL);
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int sig;
    if (sigwait(&report, &sig) != 0) continue;
    printf("stats errors=%ld v1=%ld v2=%ld v3=%ld spawned=%ld failed=%ld\n",
           atomic_load(&total_errors), atomic_load(&version_seen[1]), atomic_load(&version_seen[2]),
           atomic_load(&version_seen[3]), atomic_load(&spawned), atomic_load(&failed));
    fflush(stdout);
  }
}
