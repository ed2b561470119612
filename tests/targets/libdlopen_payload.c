// The library dlopen_late loads on request.
__attribute__((noinline)) int dlopen_payload_function(int x) {
  __asm__ volatile("" ::: "memory");
  return 7 * x + 2;
}
