// The virtual serial port (a 16550 in spirit): guest writes go through a ring buffer to the
// device thread, which appends them to a log file and checks every line that arrives.
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "serial_line.h"
#include "serial_ring.h"

struct machine;

// serial_ok is judged on this many most recent lines, so that it turns back to "yes" once the
// bug is fixed instead of remembering a bad line forever.
#define SERIAL_RECENT_LINES 64

struct serial_device {
  struct machine* machine;
  pthread_t thread;
  struct serial_ring ring;
  pthread_mutex_t producer_lock;  // the ring takes one producer at a time; there are N vCPUs
  int doorbell_fd;                // eventfd: a vCPU wrote bytes
  int log_fd;

  // Device-thread state: the line being reassembled from the bytes drained so far.
  char partial_line[SERIAL_LINE_MAX];
  size_t partial_length;

  atomic_uint_least64_t bytes_received;
  atomic_uint_least64_t lines;
  atomic_uint_least64_t bad_lines;
  atomic_uint_least64_t dropped_writes;  // ring full: whole line dropped (not a corruption)
  // Bit i set: the i-th most recent line was bad.
  atomic_uint_least64_t recent_bad_mask;
};

// Opens the log (truncating it) and the doorbell; returns false with errno set on failure.
bool serial_device_init(struct serial_device* serial, struct machine* machine,
                        const char* log_path);
void* serial_device_thread_main(void* serial);
void serial_device_close(struct serial_device* serial);

// Called by a vCPU executing OUT to the serial port.
void serial_device_write(struct serial_device* serial, const char* bytes, size_t length);

// "yes", "no", or "unknown" before SERIAL_RECENT_LINES lines have arrived.
const char* serial_device_health(struct serial_device* serial);
