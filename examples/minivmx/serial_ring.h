// The serial device's receive buffer: a byte ring between the vCPUs (producers, serialised by
// the device's lock) and the device thread (the single consumer).
#pragma once

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_RING_SIZE 256u  // a power of two, so free-running counters wrap cleanly

struct serial_ring {
  // Free-running byte counts; the index into `bytes` is the count modulo the size. Written only
  // by the producer (head) and the consumer (tail); release/acquire publish the bytes.
  atomic_uint_least32_t head;
  atomic_uint_least32_t tail;
  char bytes[SERIAL_RING_SIZE];
};

void serial_ring_init(struct serial_ring* ring);
// Appends all `length` bytes, or nothing if they do not fit (a message is never split, so a
// full ring drops whole lines and never corrupts one). Single producer at a time.
bool serial_ring_write(struct serial_ring* ring, const char* bytes, size_t length);
// Moves up to `max` bytes out of the ring into `out`; returns how many it stored in `out`.
// Single consumer. Defined in serial_ring_read.c (the demo bug).
size_t serial_ring_read(struct serial_ring* ring, char* out, size_t max);
