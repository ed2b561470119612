/* Tries to replace cold_loop(), a function whose loop runs through its .cold part. */
extern void loop_work(void);

void cold_loop(volatile int* flag) {
  while (*flag != 12345) loop_work();
}
