#include <cstdio>

template <typename T>
__attribute__((noinline)) T Accumulate(const T* values, int n) {
  T total = 0;
  for (int i = 0; i < n; ++i) total += values[i];
  return total;
}

long longs[4] = {1, 2, 3, 4};

extern "C" const char* behaviour() {
  static char text[64];
  std::snprintf(text, sizeof text, "%ld", Accumulate(longs, 4));
  return text;
}
