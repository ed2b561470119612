#include <stdio.h>

struct sample { int weight; int unused[8]; int count; };

static __attribute__((noinline)) int weigh(const struct sample* s) {
  int total = 0;
  for (int i = 0; i < s->count; ++i) total += s->weight;
  return total;
}

struct sample samples[2] = {{3, {0}, 4}, {5, {0}, 2}};
volatile int which = 0;

int evaluate(void) { return weigh(&samples[which]) + weigh(&samples[which + 1]); }

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", evaluate());
  return text;
}
