#include <cstdio>

#include "multiply.h"

int OtherMultiplied(int x);

int input = 4;

__attribute__((noinline)) int Multiplied(int x) { return Multiply<2>(x); }

extern "C" const char* behaviour() {
  static char text[64];
  std::snprintf(text, sizeof text, "%d %d", Multiplied(input), OtherMultiplied(input));
  return text;
}
