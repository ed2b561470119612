#include <stdio.h>

__attribute__((noinline)) int triangle(int n) {
  if (n <= 0) return 0;
  return n + triangle(n - 1);
}

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", triangle(10));
  return text;
}
