#include <stdio.h>

int input = 5;
int table[64];
int cache_valid;
int cached;

/* The cheap test at the top is inlined into the callers; GCC splits the rest off into
 * refresh.part.0 (ipa-split), the function the fix changes. */
static int refresh(int x) {
  if (__builtin_expect(cache_valid, 1)) return cached;
  int total = 0;
  for (int i = 0; i < 64; ++i) {
    total += (table[i] + x * i) % 7;
    if (total > 1000000) printf("big %d\n", total);
  }
  for (int i = 0; i < x; ++i) total += 3;
  return total;
}

__attribute__((noinline)) int first(void) { return refresh(input); }
__attribute__((noinline)) int second(void) { return refresh(input + 1); }
__attribute__((noinline)) int third(void) { return refresh(input + 2); }
__attribute__((noinline)) int fourth(void) { return refresh(input + 3); }

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d %d", first(), fourth());
  return text;
}
