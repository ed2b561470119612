#pragma once

// An inline function from a header that the compiler does not inline: every unit using it emits
// a weak copy in a COMDAT group (.text._Z5Scalei) and the linker keeps one of them.
__attribute__((noinline)) inline int Scale(int x) {
  int total = 1;
  for (int i = 0; i < x; ++i) total += 3;
  return total;
}
