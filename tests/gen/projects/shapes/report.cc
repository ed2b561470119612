#include <cstdio>

#include "geometry.h"

int side = 3;

extern "C" const char* behaviour() {
  static char text[64];
  std::snprintf(text, sizeof text, "area %d scaled %d", SquareArea(side), Scaled(side));
  return text;
}
