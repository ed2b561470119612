/* The pause benchmark's one-function patch: the same contract as bench_threads' bench_tick(). */
long bench_tick(long x) {
  return x + x + x + 1;
}
