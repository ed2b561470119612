/* Replaces tiny(), a 4-byte function: its entry jump runs on into the fill after it. */
int tiny(int x) { return x + 2; }
