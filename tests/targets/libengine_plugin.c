/* The library engine_dlopen loads with dlopen(): the patch test replaces its functions, so the
 * bundle targets this .so (its own build-id), not the executable.
 *
 * noipa, as in engine_loop.c: the functions are exported, but GCC could still assume the local
 * definitions within this library and fold their constant results into callers. */
__attribute__((noipa)) int plugin_compute(int x) {
  return x * 5 + 2;
}

__attribute__((noipa)) int plugin_version(void) {
  return 1;
}
