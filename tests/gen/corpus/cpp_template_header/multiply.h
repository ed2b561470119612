#pragma once

// A template from a header: each instantiation is a weak COMDAT function of the units using it.
template <int N>
__attribute__((noinline)) int Multiply(int x) {
  int total = 0;
  for (int i = 0; i < x; ++i) total += N;
  return total;
}
