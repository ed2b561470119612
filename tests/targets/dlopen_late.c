// Loads a shared library only when asked, so a test can watch a module appear in a running
// process. Prints "ready <address of dlopen_late_marker>", then on SIGUSR1 dlopen()s
// libdlopen_payload.so from its own directory and prints "loaded <address of
// dlopen_payload_function>" (or "error <dlerror text>"), then sleeps until killed — inside the
// library's dlopen_payload_wait, so a stack walk there needs the library's CFI.
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

__attribute__((noinline)) int dlopen_late_marker(int x) {
  __asm__ volatile("" ::: "memory");
  return 3 * x + 1;
}

static void pause_forever(void) {
  pause();
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  // Blocked before "ready" so the test's SIGUSR1 waits for sigwait instead of killing us.
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  sigprocmask(SIG_BLOCK, &usr1, NULL);
  printf("ready %p\n", (void*)&dlopen_late_marker);

  int signal_number = 0;
  sigwait(&usr1, &signal_number);
  char library[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", library, sizeof library - 64);
  if (length <= 0) {
    printf("error readlink /proc/self/exe\n");
    return 1;
  }
  library[length] = '\0';
  char* slash = strrchr(library, '/');
  strcpy(slash + 1, "libdlopen_payload.so");
  void* handle = dlopen(library, RTLD_NOW);
  void* function = handle ? dlsym(handle, "dlopen_payload_function") : NULL;
  void (*wait_in_payload)(void (*)(void)) =
      handle ? (void (*)(void (*)(void)))dlsym(handle, "dlopen_payload_wait") : NULL;
  if (function == NULL || wait_in_payload == NULL) {
    printf("error %s\n", dlerror());
    return 1;
  }
  printf("loaded %p\n", function);
  wait_in_payload(pause_forever);
}
