/* Replaces both functions of engine_thread_churn: churn_version() now 2, churn_compute() with
 * different code under the same contract (x * 3 + 1). */
int churn_version(void) {
  return 2;
}

int churn_compute(int x) {
  return x + x + x + 1;
}
