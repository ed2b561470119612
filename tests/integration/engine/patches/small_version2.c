/* Replaces version() (now 2): a patch small enough for a few hundred bytes of padding. */
int version(void) {
  return 2;
}
