#include <stdio.h>

struct settings { int verbose; int limit; };

/* The only way current_limit() reaches struct settings: no parameter or local has the type. */
extern struct settings settings;

__attribute__((noinline)) int current_limit(void) { return settings.limit * 2; }

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%d", current_limit());
  return text;
}
