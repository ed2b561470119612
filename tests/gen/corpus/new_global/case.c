#include <stdio.h>

__attribute__((noinline)) int next_ticket(int base) {
  int value = base;
  for (int i = 0; i < base; ++i) value += i & 1;
  return value;
}

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", next_ticket(10));
  return text;
}
