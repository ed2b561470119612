static __attribute__((noinline)) int helper(int x) {
  int r = 0;
  for (int i = 0; i < x; ++i) r += 2;
  return r;
}

int first(int x) { return helper(x); }
