/* A target that forbids itself writable+executable memory, as hardened services do:
 *   hostile_no_wx mdwe      prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN) (Linux 6.3): the kernel
 *                           refuses PROT_WRITE|PROT_EXEC mappings and mprotect gaining PROT_EXEC.
 *   hostile_no_wx seccomp   a seccomp filter like systemd's MemoryDenyWriteExecute=yes: mmap,
 *                           mprotect and pkey_mprotect fail with EPERM when asked for
 *                           PROT_WRITE|PROT_EXEC, and mprotect/pkey_mprotect for any PROT_EXEC
 *                           (a filter cannot see the old protection, so like systemd it refuses
 *                           every mprotect to executable).
 * Both restrictions bind the remote system calls the engine makes through a borrowed thread: the
 * kernel cannot tell them from the program's own calls.
 *
 * Prints "ready mode=M wx=refused exec_gain=refused" after checking on itself that the restriction
 * is in force, or "unsupported mode=M errno=E" and exits 0 when the kernel lacks it.
 * SIGUSR1 prints "stats errors=E v1=A v2=B v3=C". Has reserved patch areas. */
#define _GNU_SOURCE
#include <errno.h>
#include <hotpatch/patch_area.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

HOTPATCH_DEFINE_AREAS(16 * 1024, 4 * 1024);

atomic_long version_seen[4];
atomic_long total_errors;

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

/* seccomp_data.args[2] is the prot argument of mmap(addr, len, prot, ...), mprotect(addr, len,
 * prot) and pkey_mprotect(addr, len, prot, pkey); only its low 32 bits matter (int). */
#define LOAD_PROT BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[2]))
#define DENY BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (EPERM & SECCOMP_RET_DATA))
#define ALLOW BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)

static int InstallMemoryDenyWriteExecute(void) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mmap, 3, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_mprotect, 7, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_pkey_mprotect, 6, 0),
      ALLOW,
      /* mmap: deny when both PROT_WRITE and PROT_EXEC are asked for */
      LOAD_PROT,
      BPF_STMT(BPF_ALU | BPF_AND | BPF_K, PROT_WRITE | PROT_EXEC),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, PROT_WRITE | PROT_EXEC, 0, 1),
      DENY,
      ALLOW,
      /* mprotect, pkey_mprotect: deny any PROT_EXEC */
      LOAD_PROT,
      BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, PROT_EXEC, 0, 1),
      DENY,
      ALLOW,
  };
  struct sock_fprog program = {.len = sizeof filter / sizeof filter[0], .filter = filter};
  /* Unprivileged seccomp needs no_new_privs; we may run as root but behave like a service. */
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
  /* Installed before any thread exists, so every thread inherits it. */
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &program);
}

/* Proves the restriction is in force on this very process, so a test cannot pass vacuously. */
static const char* WxVerdict(void) {
  void* p =
      mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p != MAP_FAILED) return "allowed";
  return "refused";
}

static const char* ExecGainVerdict(void) {
  void* p = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return "unknown";
  int result = mprotect(p, 4096, PROT_READ | PROT_EXEC);
  munmap(p, 4096);
  return result == 0 ? "allowed" : "refused";
}

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "mdwe";
  int result = strcmp(mode, "seccomp") == 0
                   ? InstallMemoryDenyWriteExecute()
                   : prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0L, 0L, 0L);
  if (result != 0) {
    printf("unsupported mode=%s errno=%d\n", mode, errno);
    return 0;
  }
  sigset_t report;
  sigemptyset(&report);
  sigaddset(&report, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &report, NULL);
  pthread_t t;
  pthread_create(&t, NULL, worker, NULL);
  printf("ready mode=%s wx=%s exec_gain=%s\n", mode, WxVerdict(), ExecGainVerdict());
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
