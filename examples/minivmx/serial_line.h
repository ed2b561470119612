// The text a guest writes to the serial port, one line per report:
//   "vcpu 2 run 48 result 2686700 check 9f3c01d2\n"
// `check` is the FNV-1a hash of everything before " check ", so the device can tell a line that
// reached it intact from one that lost or gained a byte on the way.
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SERIAL_LINE_MAX 128

// Writes the line (with its newline) into `out`; returns its length.
size_t serial_line_format(char* out, size_t out_size, unsigned vcpu, uint64_t run, uint64_t result);
// True if `line` (without its newline) is exactly one well-formed line with a matching check.
bool serial_line_is_intact(const char* line, size_t length);
