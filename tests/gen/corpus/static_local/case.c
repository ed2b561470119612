#include <stdio.h>

__attribute__((noinline)) int count_calls(int step) {
  static int calls;
  calls += step;
  return calls;
}

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", count_calls(1));
  return text;
}
