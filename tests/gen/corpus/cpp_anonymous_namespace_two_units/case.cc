#include <cstdio>

int First(int x);
int Second(int x);

int input = 5;

extern "C" const char* behaviour() {
  static char text[64];
  std::snprintf(text, sizeof text, "%d %d", First(input), Second(input));
  return text;
}
