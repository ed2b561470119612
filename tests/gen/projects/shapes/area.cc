#include "geometry.h"

namespace {

// Internal linkage, like a C static function: a local symbol of this unit.
__attribute__((noinline)) int Square(int x) {
  int total = 0;
  for (int i = 0; i < x; ++i) total += x;
  return total;
}

}  // namespace

int SquareArea(int side) { return Square(Scaled(side)); }
