#include <stdio.h>

int net_count(int x);
int disk_count(int x);

int input = 5;

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d %d", net_count(input), disk_count(input));
  return text;
}
