#include <stdio.h>

__attribute__((noinline)) int compute(int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i) sum += i;
  return sum;
}

__attribute__((noinline)) int where(int base) {
  for (int i = 0; i < 3; ++i) base += base & 1;
  return base + __LINE__;
}

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d %d", compute(10), where(1000));
  return text;
}
