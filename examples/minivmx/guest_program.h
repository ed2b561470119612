// The guest's instruction set and the one program every vCPU runs.
#pragma once

#include <stdint.h>

#define GUEST_REGISTER_COUNT 8

enum guest_opcode {
  GUEST_LOADI,  // dst = imm
  GUEST_MOV,    // dst = src
  GUEST_ADD,    // dst += src
  GUEST_MUL,    // dst *= src
  GUEST_DEC,    // dst -= 1
  GUEST_JNZ,    // if (dst != 0) pc = imm
  GUEST_OUT,    // write src to I/O port imm
  GUEST_HLT,    // stop until the next timer tick
};

enum guest_port { GUEST_PORT_SERIAL = 0x3f8 };

struct guest_insn {
  uint8_t opcode;
  uint8_t dst;
  uint8_t src;
  int32_t imm;
};

// Inputs the host loads before a run.
#define GUEST_REG_N 6      // the program sums i*i for i = 1..n
#define GUEST_REG_QUIET 7  // non-zero: skip the serial report this run
// Output.
#define GUEST_REG_RESULT 1

extern struct guest_insn guest_program[];
extern unsigned guest_program_length;

// Fills guest_program; called once at startup.
void guest_program_build(void);
// What the program must compute for `n`, by the closed form rather than by a loop.
uint64_t guest_expected_result(uint64_t n);
