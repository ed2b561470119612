#include "tally.h"

static int weights[4] = {1, 2, 3, 4};

__attribute__((noinline)) int weighted_tally(int rounds) {
  int total = 0;
  for (int i = 0; i < rounds; ++i) total += weights[i % 4];
  return total;
}
