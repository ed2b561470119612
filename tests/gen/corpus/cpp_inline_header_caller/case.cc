#include <cstdio>

#include "scale.h"

int OtherScaled(int x);

int input = 4;

__attribute__((noinline)) int Offset(int x) { return Scale(x) + 100; }

extern "C" const char* behaviour() {
  static char text[64];
  std::snprintf(text, sizeof text, "%d %d", Offset(input), OtherScaled(input));
  return text;
}
