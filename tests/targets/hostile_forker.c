/* A target that keeps creating child processes that exec, in the three ways a process can:
 * fork() (clone with SIGCHLD), posix_spawn() (clone with CLONE_VM|CLONE_VFORK) and a raw clone()
 * whose exit signal is not SIGCHLD. PTRACE_O_TRACECLONE attaches the last kind automatically
 * (ptrace(2): it catches every clone that is neither vfork-like nor signals SIGCHLD), so a tracer
 * of this process is handed processes that are not its threads.
 *   hostile_forker fork-spawn         prints "ready"; a thread starts a child every 5 ms, by
 *                                     fork() and posix_spawn() in turn.
 *   hostile_forker clone-storm        the same, with raw clone()s as every third child.
 *   hostile_forker clone-when-traced  prints "ready"; a thread makes raw clone()s (up to 10, 1 ms
 *                                     apart) each time it sees a tracer attach to it (its
 *                                     TracerPid), so the clones fall inside the attachment.
 * Each child execs /bin/sleep 0.5 (a child left stopped never exits, so it stays visible) and
 * is reaped when it exits.
 *   SIGUSR1                prints "stats errors=E v1=A v2=B v3=C spawned=S failed=F
 *                          traced_at_birth=T cloned_while_traced=C" (T: children that found a
 *                          tracer at birth — a tracer that kept a child PTRACE_O_TRACECLONE
 *                          handed it; C: raw clones made with a tracer attached before and after
 *                          the call, so they were handed to it).
 * Children die with the spawning thread (PR_SET_PDEATHSIG survives execve). */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

atomic_long version_seen[4];
atomic_long total_errors;
atomic_long spawned;
atomic_long failed;
atomic_long traced_at_birth;
atomic_long cloned_while_traced;
static int birth_report[2]; /* children write one byte here when born traced */

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

static char* const sleep_argv[] = {"sleep", "0.5", NULL};

/* TracerPid of the calling process, from /proc/self/status. */
static int TracerOf(const char* status_path) {
  char line[256];
  int tracer = 0;
  FILE* f = fopen(status_path, "r");
  if (f == NULL) return 0;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "TracerPid: %d", &tracer) == 1) break;
  fclose(f);
  return tracer;
}

static void ExecSleepInChild(void) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  /* Tells the test a tracer of the parent kept this child past its birth stop. */
  if (TracerOf("/proc/self/status") != 0) (void)!write(birth_report[1], "t", 1);
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

static void CollectChildren(void) {
  int status;
  while (waitpid(-1, &status, WNOHANG | __WALL) > 0) {
  }
  char reports[64];
  ssize_t n;
  while ((n = read(birth_report[0], reports, sizeof reports)) > 0)
    atomic_fetch_add(&traced_at_birth, n);
}

static void Count(pid_t child) {
  if (child > 0)
    atomic_fetch_add(&spawned, 1);
  else
    atomic_fetch_add(&failed, 1);
}

/* fork-spawn: alternates fork() and posix_spawn(), one every 5 ms. */
static int spawn_kinds = 2; /* 3 in clone-storm: raw clones too */
static void* fork_spawner(void* arg) {
  (void)arg;
  for (long n = 0;; ++n) {
    Count(Spawn((int)(n % spawn_kinds)));
    CollectChildren();
    usleep(5000);
  }
  return NULL;
}

/* clone-when-traced: watches its own thread's TracerPid and, while a tracer is attached, makes
 * raw clone at once, so that the clone falls inside the attachment every time. */
static void* clone_when_traced(void* arg) {
  (void)arg;
  int clones_this_attachment = 0;
  for (;;) {
    int traced = TracerOf("/proc/thread-self/status") != 0;
    if (!traced) clones_this_attachment = 0;
    /* A few per attachment, 1 ms apart: some exec before the tracer stops everything. */
    if (traced && clones_this_attachment < 10) {
      pid_t child = Spawn(2);
      Count(child);
      if (child > 0 && TracerOf("/proc/thread-self/status") != 0)
        atomic_fetch_add(&cloned_while_traced, 1);
      ++clones_this_attachment;
    }
    CollectChildren();
    usleep(traced ? 1000 : 200);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int clone_mode = argc > 1 && strcmp(argv[1], "clone-when-traced") == 0;
  if (argc > 1 && strcmp(argv[1], "clone-storm") == 0) spawn_kinds = 3;
  sigset_t report;
  sigemptyset(&report);
  sigaddset(&report, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &report, NULL);
  if (pipe2(birth_report, O_NONBLOCK | O_CLOEXEC) != 0) return 1;
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  pthread_create(&t, NULL, clone_mode ? clone_when_traced : fork_spawner, NULL);
  printf("ready\n");
  fflush(stdout);
  for (;;) {
    int sig;
    if (sigwait(&report, &sig) != 0) continue;
    printf(
        "stats errors=%ld v1=%ld v2=%ld v3=%ld spawned=%ld failed=%ld traced_at_birth=%ld "
        "cloned_while_traced=%ld\n",
        atomic_load(&total_errors), atomic_load(&version_seen[1]), atomic_load(&version_seen[2]),
        atomic_load(&version_seen[3]), atomic_load(&spawned), atomic_load(&failed),
        atomic_load(&traced_at_birth), atomic_load(&cloned_while_traced));
    fflush(stdout);
  }
}
