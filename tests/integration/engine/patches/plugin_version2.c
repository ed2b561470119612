/* Replaces both functions of libengine_plugin.so: plugin_version() now 2, plugin_compute() with
 * different code under the same contract (x * 5 + 2). */
int plugin_version(void) {
  return 2;
}

int plugin_compute(int x) {
  return (x << 2) + x + 2;
}
