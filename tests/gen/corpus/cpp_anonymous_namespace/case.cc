#include <cstdio>

// Internal linkage through an anonymous namespace: the symbol (_ZN12_GLOBAL__N_16TripleEi) is a
// local of this unit, like a C static function.
namespace {

__attribute__((noinline)) int Triple(int x) {
  int total = 0;
  for (int i = 0; i < x; ++i) total += 3;
  return total;
}

}  // namespace

int input = 5;

extern "C" const char* behaviour() {
  static char text[64];
  std::snprintf(text, sizeof text, "%d", Triple(input));
  return text;
}
