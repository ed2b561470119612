#include <stdio.h>

int first(int x);
int second(int x);

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d %d", first(5), second(5));
  return text;
}
