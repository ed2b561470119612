#include <stdio.h>

int input = 5;
int step = 30;

/* A static function: every caller is in this file, and each changes with the new prototype. */
static __attribute__((noinline)) int scale(int x) {
  int total = 0;
  for (int i = 0; i < x; ++i) total += 3;
  return total;
}

__attribute__((noinline)) int compute(void) { return scale(input) + 1; }

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d %d", compute(), scale(input));
  return text;
}
