// The library dlopen_late loads on request.
__attribute__((noinline)) int dlopen_payload_function(int x) {
  __asm__ volatile("" ::: "memory");
  return 7 * x + 2;
}

// Where dlopen_late waits once the library is loaded: a frame of a module loaded after start.
__attribute__((noinline)) void dlopen_payload_wait(void (*wait)(void)) {
  for (;;) wait();
}
