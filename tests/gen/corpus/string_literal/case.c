#include <stdio.h>
#include <string.h>

__attribute__((noinline)) const char* greeting(int formal) {
  if (formal > 100) return "good day";
  return "hello";
}

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "%s", greeting(1));
  return text;
}
