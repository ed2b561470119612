/* Replaces middle() of patch_code_frames; must never be applied while a thread is inside it. */
#include <stdatomic.h>

extern atomic_long middle_calls;
void inner(void);

void middle(void) {
  inner();
  atomic_fetch_add(&middle_calls, 2);
}
