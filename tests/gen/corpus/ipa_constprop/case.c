#include <stdio.h>

volatile int input = 7;

static __attribute__((noinline)) int polynomial(int x, int k) {
  int r = 0;
  for (int i = 0; i < x; ++i) r += i * k;
  return r;
}

int evaluate(void) { return polynomial(input, 3) + polynomial(input + 1, 3); }

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", evaluate());
  return text;
}
