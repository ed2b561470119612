#include <stdio.h>

__thread int per_thread_calls;

__attribute__((noinline)) int count_in_thread(int step) {
  per_thread_calls += step;
  return per_thread_calls;
}

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", count_in_thread(1));
  return text;
}
