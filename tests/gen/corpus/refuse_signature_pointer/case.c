#include <stdio.h>

int input = 5;

static __attribute__((noinline)) int triple(int x) {
  int total = 0;
  for (int i = 0; i < x; ++i) total += 3;
  return total;
}

/* The process holds a pointer to triple() that the patch cannot see being called. */
int (*const operation)(int) = triple;

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", operation(input));
  return text;
}
