/* Tries to replace a function that never returns. */
void spin_forever(volatile int* stop) {
  for (;;)
    if (*stop == 1) break;
}
