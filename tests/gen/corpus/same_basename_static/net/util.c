/* net/util.c and disk/util.c: the STT_FILE symbols of both say "util.c". */
static __attribute__((noinline)) int helper(int x) {
  int r = 0;
  for (int i = 0; i < x; ++i) r += 2;
  return r;
}

int net_count(int x) { return helper(x); }
