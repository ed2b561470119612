#include <stdio.h>

volatile int bad_input = 0;

__attribute__((cold, noinline)) void report(int i) { fprintf(stderr, "bad input %d\n", i); }

/* The path that calls the cold report() goes to checked_sum.cold in .text.unlikely. */
__attribute__((noinline)) int checked_sum(int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i) {
    if (bad_input > i) {
      report(i);
      fprintf(stderr, "bad input at %d of %d\n", i, n);
      sum = -sum;
    }
    sum += i;
  }
  return sum;
}

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", checked_sum(10));
  return text;
}
