/* Replaces version() (now 2). */
int version(void) { return 2; }
