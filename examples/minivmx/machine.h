// The whole virtual machine: configuration, vCPUs, devices, and the stop signal they all watch.
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "control_socket.h"
#include "serial_device.h"
#include "timer_device.h"
#include "vcpu.h"

struct machine_config {
  unsigned vcpu_count;
  const char* socket_path;
  const char* serial_log_path;
  // vCPUs never halt: they run guest programs back to back at 100% CPU (a guest that never
  // idles), instead of waiting for the next timer tick after each run.
  bool spin;
};

struct machine {
  struct machine_config config;
  atomic_bool stopping;
  // eventfd, readable once stopping is set: the device threads that block in poll watch it.
  int stop_fd;
  uint64_t start_time_ns;

  // Counts threads that reached their loop, so "ready" is printed only when all of them run.
  pthread_mutex_t started_lock;
  pthread_cond_t started_cond;
  unsigned threads_started;

  struct timer_device timer;
  struct serial_device serial;
  struct control_socket control;
  struct vcpu* vcpus;
};

// Sets everything up and starts every thread; returns once all of them run. Exits the process
// with a message on stderr if anything fails (there is nothing to recover at startup).
void machine_start(struct machine* machine, const struct machine_config* config);
// Stops every thread, joins them, closes files and removes the socket.
void machine_stop(struct machine* machine);

// Called by each thread once it is about to enter its loop.
void machine_thread_started(struct machine* machine);
bool machine_stopping(const struct machine* machine);
uint64_t monotonic_ns(void);
