#pragma once

// Inline, not inlined: area.cc and report.cc each emit a weak copy in a COMDAT group.
__attribute__((noinline)) inline int Scaled(int x) {
  int total = 0;
  for (int i = 0; i < x; ++i) total += 2;
  return total;
}

int SquareArea(int side);
