#include <cstdio>

#include "scale.h"

int OtherScaled(int x);

int input = 4;

extern "C" const char* behaviour() {
  static char text[64];
  std::snprintf(text, sizeof text, "%d %d", Scale(input), OtherScaled(input));
  return text;
}
