static __attribute__((noinline)) int helper(int x) {
  int r = 0;
  for (int i = 0; i < x; ++i) r += 3;
  return r;
}

int second(int x) { return helper(x); }
