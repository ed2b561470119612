#include <stdio.h>

struct account { int id; int balance; };

extern struct account accounts[2];

__attribute__((noinline)) int total(const struct account* list, int n) {
  int sum = 0;
  for (int i = 0; i < n; ++i) sum += list[i].balance;
  return sum;
}

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", total(accounts, 2));
  return text;
}
