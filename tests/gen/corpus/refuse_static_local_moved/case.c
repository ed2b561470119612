#include <stdio.h>

/* Two statics named count; the fix moves next_small's into a new function. */
__attribute__((noinline)) int next_small(void) {
  static int count;
  return count += 1;
}

__attribute__((noinline)) int next_large(void) {
  static int count = 100;
  return ++count;
}

const char* behaviour(void) {
  static char text[64];
  const int small = next_small();
  const int large = next_large();
  snprintf(text, sizeof text, "%d %d", small, large);
  return text;
}
