#define _GNU_SOURCE  // memmem
#include "serial_line.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static uint32_t fnv1a(const char* bytes, size_t length) {
  uint32_t hash = 2166136261u;
  for (size_t i = 0; i < length; ++i) {
    hash ^= (uint8_t)bytes[i];
    hash *= 16777619u;
  }
  return hash;
}

size_t serial_line_format(char* out, size_t out_size, unsigned vcpu, uint64_t run,
                          uint64_t result) {
  int body = snprintf(out, out_size, "vcpu %u run %" PRIu64 " result %" PRIu64, vcpu, run, result);
  int total =
      snprintf(out + body, out_size - (size_t)body, " check %08x\n", fnv1a(out, (size_t)body));
  return (size_t)(body + total);
}

bool serial_line_is_intact(const char* line, size_t length) {
  static const char kCheck[] = " check ";
  const size_t check_text = sizeof kCheck - 1 + 8;
  if (length < check_text || length >= SERIAL_LINE_MAX) return false;
  size_t body = length - check_text;
  if (memcmp(line + body, kCheck, sizeof kCheck - 1) != 0) return false;
  char expected[9];
  snprintf(expected, sizeof expected, "%08x", fnv1a(line, body));
  if (memcmp(line + body + sizeof kCheck - 1, expected, 8) != 0) return false;
  // Two lines run together (a lost newline) can still end in a valid check: the body of one
  // line never contains " check ".
  return memmem(line, body, kCheck, sizeof kCheck - 1) == NULL;
}
