/* Replaces version() (now 2) and compute() (same contract, different code: reads the target's
 * static `scale`, bumps the target's thread-local and a new global of the patch). */
extern __thread long thread_calls;
extern volatile int scale;                     /* the target's static: bound by name to its storage */
long patch_compute_calls;               /* new data of the patch */

int version(void) { return 2; }

int compute(int x) {
  patch_compute_calls++;
  thread_calls++;
  return x * (scale - 1) + x + 1;
}
