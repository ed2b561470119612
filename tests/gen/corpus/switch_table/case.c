#include <stdio.h>

volatile int selector = 4;

__attribute__((noinline)) int classify(int v) {
  switch (v) {
    case 0: return 11;
    case 1: return 23;
    case 2: return 37;
    case 3: return 41;
    case 4: return 59;
    case 5: return 61;
    case 6: return 79;
    default: return -1;
  }
}

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", classify(selector));
  return text;
}
