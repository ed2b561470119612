#define _GNU_SOURCE
#include "machine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "hotpatch/patch_area.h"

uint64_t monotonic_ns(void) {
  struct timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

bool machine_stopping(const struct machine* machine) {
  return atomic_load(&machine->stopping);
}

void machine_thread_started(struct machine* machine) {
  pthread_mutex_lock(&machine->started_lock);
  machine->threads_started++;
  pthread_cond_broadcast(&machine->started_cond);
  pthread_mutex_unlock(&machine->started_lock);
}

static void fail_startup(const char* what, const char* detail) {
  fprintf(stderr, "minivmx: %s %s: %s\n", what, detail, strerror(errno));
  exit(1);
}

// Thread names show in /proc/PID/task/TID/comm, where tests and the engine's error messages
// ("thread vcpu2 is inside ...") find them.
static void start_thread(pthread_t* thread, void* (*main)(void*), void* argument,
                         const char* name) {
  int err = pthread_create(thread, NULL, main, argument);
  if (err != 0) {
    errno = err;
    fail_startup("cannot start thread", name);
  }
  pthread_setname_np(*thread, name);
}

// Run once: after main() declares init done, the engine may reuse these bytes for patch code.
HOTPATCH_RUN_ONCE void machine_start(struct machine* machine, const struct machine_config* config) {
  machine->config = *config;
  atomic_init(&machine->stopping, false);
  machine->start_time_ns = monotonic_ns();
  pthread_mutex_init(&machine->started_lock, NULL);
  pthread_cond_init(&machine->started_cond, NULL);
  machine->threads_started = 0;

  machine->stop_fd = eventfd(0, EFD_CLOEXEC);
  if (machine->stop_fd < 0) fail_startup("cannot create", "the stop eventfd");
  guest_program_build();
  timer_device_init(&machine->timer, machine);
  if (!serial_device_init(&machine->serial, machine, config->serial_log_path))
    fail_startup("cannot open the serial log", config->serial_log_path);
  if (!control_socket_open(&machine->control, machine, config->socket_path))
    fail_startup("cannot listen on", config->socket_path);
  machine->vcpus = aligned_alloc(64, sizeof(struct vcpu) * config->vcpu_count);
  if (machine->vcpus == NULL) fail_startup("cannot allocate", "vCPUs");
  for (unsigned i = 0; i < config->vcpu_count; ++i) vcpu_init(&machine->vcpus[i], machine, i);

  // Devices first, so that the vCPUs' first serial writes and halts find them running.
  start_thread(&machine->timer.thread, timer_device_thread_main, &machine->timer, "timer");
  start_thread(&machine->serial.thread, serial_device_thread_main, &machine->serial, "serial");
  start_thread(&machine->control.thread, control_socket_thread_main, &machine->control, "control");
  for (unsigned i = 0; i < config->vcpu_count; ++i) {
    char name[16];
    snprintf(name, sizeof name, "vcpu%u", i);
    start_thread(&machine->vcpus[i].thread, vcpu_thread_main, &machine->vcpus[i], name);
  }

  unsigned expected = 3 + config->vcpu_count;
  pthread_mutex_lock(&machine->started_lock);
  while (machine->threads_started < expected)
    pthread_cond_wait(&machine->started_cond, &machine->started_lock);
  pthread_mutex_unlock(&machine->started_lock);
}

void machine_stop(struct machine* machine) {
  atomic_store(&machine->stopping, true);
  uint64_t one = 1;
  (void)!write(machine->stop_fd, &one, sizeof one);
  // vCPUs first: they write to the serial device and wait for timer ticks, and the timer keeps
  // ticking until stopping is seen, so nobody waits on a thread that is gone.
  for (unsigned i = 0; i < machine->config.vcpu_count; ++i)
    pthread_join(machine->vcpus[i].thread, NULL);
  pthread_join(machine->timer.thread, NULL);
  pthread_join(machine->serial.thread, NULL);
  pthread_join(machine->control.thread, NULL);

  control_socket_close(&machine->control);
  serial_device_close(&machine->serial);
  close(machine->stop_fd);
  free(machine->vcpus);
}
