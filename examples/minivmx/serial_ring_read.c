// THE DEMO BUG lives here, alone in its file so that the fix is a one-function patch.
//
// serial_ring_read() treats `last` as an inclusive index when the data does not wrap, but when
// it wraps around the end of the ring it copies `last` bytes from the start instead of
// `last + 1`: the last byte of every read that wraps is lost. The reads end on a line's newline
// most of the time, so two lines run together, the device counts a bad line, and `status` says
// serial_ok=no.
//
// The fix (examples/patches/): in the wrapped branch copy `last + 1` bytes and count them:
//   memcpy(out + first, ring->bytes, last + 1);
//   copied = first + last + 1;
// The device thread calls this function again for every batch it drains, so replacing it fixes
// the device without restarting the VM.
#include <string.h>

#include "serial_ring.h"

__attribute__((noinline)) size_t serial_ring_read(struct serial_ring* ring, char* out, size_t max) {
  uint32_t tail = atomic_load_explicit(&ring->tail, memory_order_relaxed);
  uint32_t available = atomic_load_explicit(&ring->head, memory_order_acquire) - tail;
  if (available > max) available = (uint32_t)max;
  if (available == 0) return 0;

  uint32_t start = tail % SERIAL_RING_SIZE;
  uint32_t last = (tail + available - 1) % SERIAL_RING_SIZE;  // inclusive
  size_t copied;
  if (last >= start) {
    copied = last - start + 1;
    memcpy(out, ring->bytes + start, copied);
  } else {
    size_t first = SERIAL_RING_SIZE - start;
    memcpy(out, ring->bytes + start, first);
    memcpy(out + first, ring->bytes, last);  // BUG: `last` is inclusive, must be last + 1
    copied = first + last;
  }
  atomic_store_explicit(&ring->tail, tail + available, memory_order_release);
  return copied;
}
