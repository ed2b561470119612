#include <stdio.h>

__attribute__((noinline)) int compute(int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i) sum += i;
  return sum;
}

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", compute(10));
  return text;
}
