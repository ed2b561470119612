#include <cstdio>

class Meter {
 public:
  __attribute__((noinline)) int Scaled(int x) const;
  int factor = 3;
};

int Meter::Scaled(int x) const {
  int total = 0;
  for (int i = 0; i < x; ++i) total += factor;
  return total;
}

Meter meter;

extern "C" const char* behaviour() {
  static char text[64];
  std::snprintf(text, sizeof text, "%d", meter.Scaled(4));
  return text;
}
