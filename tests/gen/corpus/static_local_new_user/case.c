#include <stdio.h>

int input = 1;

/* Two statics named count. tick() is small: the fix makes bump() call it, and GCC inlines it
 * there, so tick's count is then used by two functions. */
static int tick(void) {
  static int count;
  return ++count;
}

__attribute__((noinline)) int next_large(void) {
  static int count = 100;
  return ++count;
}

__attribute__((noinline)) int ticks(void) { return tick() + tick(); }

__attribute__((noinline)) int bump(int x) { return x + 1; }

const char* behaviour(void) {
  static char text[64];
  const int ticked = ticks();
  const int large = next_large();
  const int bumped = bump(input);
  snprintf(text, sizeof text, "%d %d %d", ticked, large, bumped);
  return text;
}
