/* Exactly the code of bench_call's bench_callee(): the call benchmark compares the entry jump,
 * not two different bodies. */
unsigned long bench_callee(unsigned long x) {
  return x * 2654435761UL + 12345UL;
}
