#include "serial_ring.h"

#include <string.h>

void serial_ring_init(struct serial_ring* ring) {
  atomic_init(&ring->head, 0);
  atomic_init(&ring->tail, 0);
  memset(ring->bytes, 0, sizeof ring->bytes);
}

bool serial_ring_write(struct serial_ring* ring, const char* bytes, size_t length) {
  uint32_t head = atomic_load_explicit(&ring->head, memory_order_relaxed);
  uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_acquire);
  if (length > SERIAL_RING_SIZE - (head - tail)) return false;
  for (size_t i = 0; i < length; ++i) ring->bytes[(head + i) % SERIAL_RING_SIZE] = bytes[i];
  atomic_store_explicit(&ring->head, head + (uint32_t)length, memory_order_release);
  return true;
}
