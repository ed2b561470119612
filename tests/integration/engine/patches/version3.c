/* Stacks on version2: replaces version() again (now 3). */
int version(void) { return 3; }
