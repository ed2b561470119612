#include <stdio.h>

int input = 5;

/* A global: code outside the patch (other objects, other modules) may call it. */
__attribute__((noinline)) int scale(int x) {
  int total = 0;
  for (int i = 0; i < x; ++i) total += 3;
  return total;
}

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", scale(input));
  return text;
}
