#include <stdio.h>

/* Two statics named count: GCC calls them count.0 and count.1, in an order the fix changes. */
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
  snprintf(text, sizeof text, "%d %d", next_small(), next_large());
  return text;
}
