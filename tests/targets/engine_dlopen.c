/* Worker threads call functions of a library that was dlopen()ed at run time (so ld.so placed it
 * wherever it liked, after the process started) and check every result.
 *
 *   engine_dlopen [THREADS]   dlopen()s libengine_plugin.so from its own directory, starts the
 *                             workers, prints "ready <path of the library>".
 *   SIGUSR1                   prints "stats errors=E calls=C v1=A v2=B"
 *                             (v1, v2: how often plugin_version() returned 1 or 2).
 *
 * plugin_compute() must always return x * 5 + 2; patches keep that contract, so `errors`
 * counts calls that saw a half-written or wrongly relocated function. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int (*plugin_compute)(int);
static int (*plugin_version)(void);
static atomic_long total_errors, total_calls, version_seen[3];

static void* worker(void* arg) {
  (void)arg;
  for (;;) {
    for (int i = 0; i < 1000; ++i) {
      if (plugin_compute(i) != i * 5 + 2) atomic_fetch_add(&total_errors, 1);
      int v = plugin_version();
      if (v == 1 || v == 2)
        atomic_fetch_add(&version_seen[v], 1);
      else
        atomic_fetch_add(&total_errors, 1);
    }
    atomic_fetch_add(&total_calls, 1000);
  }
  return NULL;
}

int main(int argc, char** argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 4;
  sigset_t usr1;
  sigemptyset(&usr1);
  sigaddset(&usr1, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &usr1, NULL);  // before any thread: all inherit it

  char library[PATH_MAX];
  ssize_t length = readlink("/proc/self/exe", library, sizeof library - 64);
  if (length <= 0) {
    printf("error readlink /proc/self/exe\n");
    return 1;
  }
  library[length] = '\0';
  strcpy(strrchr(library, '/') + 1, "libengine_plugin.so");
  void* handle = dlopen(library, RTLD_NOW);
  if (handle == NULL) {
    printf("error %s\n", dlerror());
    return 1;
  }
  plugin_compute = (int (*)(int))dlsym(handle, "plugin_compute");
  plugin_version = (int (*)(void))dlsym(handle, "plugin_version");
  if (plugin_compute == NULL || plugin_version == NULL) {
    printf("error %s\n", dlerror());
    return 1;
  }

  for (int i = 0; i < threads; ++i) {
    pthread_t t;
    pthread_create(&t, NULL, worker, NULL);
    pthread_setname_np(t, "worker");
  }
  printf("ready %s\n", library);
  fflush(stdout);
  for (;;) {
    int sig = 0;
    if (sigwait(&usr1, &sig) != 0) continue;
    printf("stats errors=%ld calls=%ld v1=%ld v2=%ld\n", atomic_load(&total_errors),
           atomic_load(&total_calls), atomic_load(&version_seen[1]), atomic_load(&version_seen[2]));
    fflush(stdout);
  }
}
