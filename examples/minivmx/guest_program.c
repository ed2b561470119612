#include "guest_program.h"

#include "hotpatch/patch_area.h"

struct guest_insn guest_program[16];
unsigned guest_program_length;

static void emit(uint8_t opcode, uint8_t dst, uint8_t src, int32_t imm) {
  guest_program[guest_program_length++] = (struct guest_insn){opcode, dst, src, imm};
}

HOTPATCH_RUN_ONCE void guest_program_build(void) {
  guest_program_length = 0;
  emit(GUEST_MOV, 0, GUEST_REG_N, 0);                       // 0: r0 = n
  emit(GUEST_LOADI, GUEST_REG_RESULT, 0, 0);                // 1: r1 = 0
  emit(GUEST_MOV, 2, 0, 0);                                 // 2: loop: r2 = r0
  emit(GUEST_MUL, 2, 0, 0);                                 // 3: r2 *= r0
  emit(GUEST_ADD, GUEST_REG_RESULT, 2, 0);                  // 4: r1 += r2
  emit(GUEST_DEC, 0, 0, 0);                                 // 5: r0 -= 1
  emit(GUEST_JNZ, 0, 0, 2);                                 // 6: if r0 goto loop
  emit(GUEST_JNZ, GUEST_REG_QUIET, 0, 9);                   // 7: if quiet goto halt
  emit(GUEST_OUT, 0, GUEST_REG_RESULT, GUEST_PORT_SERIAL);  // 8: report r1 on the serial port
  emit(GUEST_HLT, 0, 0, 0);                                 // 9: halt
}

uint64_t guest_expected_result(uint64_t n) {
  return n * (n + 1) * (2 * n + 1) / 6;
}
