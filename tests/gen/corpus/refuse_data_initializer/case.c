#include <stdio.h>

int limit = 10;

__attribute__((noinline)) int clamp(int x) { return x > limit ? limit : x; }

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", clamp(50));
  return text;
}
