#include <stdio.h>

static int combine_add(int a, int b) {
  int r = a;
  for (int i = 0; i < b; ++i) r++;
  return r;
}
static int combine_mul(int a, int b) { return a * b; }

int (*const operations[])(int, int) = {combine_add, combine_mul};
volatile int chosen = 0;

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", operations[chosen](2, 3));
  return text;
}
