#include <stdio.h>

int library_compute(int n);

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", library_compute(6));
  return text;
}
