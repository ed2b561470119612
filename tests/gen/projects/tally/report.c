#include <stdio.h>

#include "tally.h"

const char* behaviour(void) {
  static char text[64];
  snprintf(text, sizeof text, "tally %d", weighted_tally(8));
  return text;
}
