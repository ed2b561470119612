#define _GNU_SOURCE
#include "vcpu.h"

#include <stdio.h>
#include <string.h>

#include "machine.h"
#include "serial_line.h"

// One small out-of-line function per instruction, as in a CPU emulator's dispatch: these are
// the functions a vCPU thread is inside most of the time it is not halted, and each is a
// candidate for a patch (the vCPU loop itself never returns, so it can never be replaced).

__attribute__((noinline)) static void guest_op_loadi(struct vcpu* vcpu,
                                                     const struct guest_insn* insn) {
  vcpu->regs[insn->dst] = (uint64_t)(int64_t)insn->imm;
}

__attribute__((noinline)) static void guest_op_mov(struct vcpu* vcpu,
                                                   const struct guest_insn* insn) {
  vcpu->regs[insn->dst] = vcpu->regs[insn->src];
}

__attribute__((noinline)) static void guest_op_add(struct vcpu* vcpu,
                                                   const struct guest_insn* insn) {
  vcpu->regs[insn->dst] += vcpu->regs[insn->src];
}

__attribute__((noinline)) static void guest_op_mul(struct vcpu* vcpu,
                                                   const struct guest_insn* insn) {
  vcpu->regs[insn->dst] *= vcpu->regs[insn->src];
}

__attribute__((noinline)) static void guest_op_dec(struct vcpu* vcpu,
                                                   const struct guest_insn* insn) {
  vcpu->regs[insn->dst] -= 1;
}

__attribute__((noinline)) static void guest_op_jnz(struct vcpu* vcpu,
                                                   const struct guest_insn* insn) {
  if (vcpu->regs[insn->dst] != 0) vcpu->pc = (uint32_t)insn->imm;
}

__attribute__((noinline)) static void guest_op_out(struct vcpu* vcpu,
                                                   const struct guest_insn* insn) {
  if (insn->imm == GUEST_PORT_SERIAL) {
    char line[SERIAL_LINE_MAX];
    size_t length = serial_line_format(line, sizeof line, vcpu->index,
                                       atomic_load_explicit(&vcpu->runs, memory_order_relaxed),
                                       vcpu->regs[insn->src]);
    serial_device_write(&vcpu->machine->serial, line, length);
  }
}

// Runs the guest program from its start until it halts.
__attribute__((noinline)) static void vcpu_run_guest(struct vcpu* vcpu) {
  vcpu->pc = 0;
  for (;;) {
    const struct guest_insn* insn = &guest_program[vcpu->pc++];
    switch (insn->opcode) {
      case GUEST_LOADI:
        guest_op_loadi(vcpu, insn);
        break;
      case GUEST_MOV:
        guest_op_mov(vcpu, insn);
        break;
      case GUEST_ADD:
        guest_op_add(vcpu, insn);
        break;
      case GUEST_MUL:
        guest_op_mul(vcpu, insn);
        break;
      case GUEST_DEC:
        guest_op_dec(vcpu, insn);
        break;
      case GUEST_JNZ:
        guest_op_jnz(vcpu, insn);
        break;
      case GUEST_OUT:
        guest_op_out(vcpu, insn);
        break;
      case GUEST_HLT:
        return;
    }
  }
}

void vcpu_init(struct vcpu* vcpu, struct machine* machine, unsigned index) {
  memset(vcpu->regs, 0, sizeof vcpu->regs);
  vcpu->machine = machine;
  vcpu->index = index;
  vcpu->pc = 0;
  atomic_init(&vcpu->runs, 0);
  atomic_init(&vcpu->errors, 0);
}

void* vcpu_thread_main(void* opaque) {
  struct vcpu* vcpu = opaque;
  struct machine* machine = vcpu->machine;
  machine_thread_started(machine);
  for (uint64_t run = 0;; ++run) {
    // Read the tick before checking for stop: the timer's last tick comes after stopping is set,
    // so either we see stopping or the wait below returns at once.
    uint32_t tick = timer_device_current_tick(&machine->timer);
    if (machine_stopping(machine)) break;

    uint64_t n = 200 + (run * 7 + vcpu->index * 13) % 300;
    vcpu->regs[GUEST_REG_N] = n;
    vcpu->regs[GUEST_REG_QUIET] = run % 16;
    vcpu_run_guest(vcpu);
    if (vcpu->regs[GUEST_REG_RESULT] != guest_expected_result(n)) {
      atomic_fetch_add_explicit(&vcpu->errors, 1, memory_order_relaxed);
    }
    atomic_fetch_add_explicit(&vcpu->runs, 1, memory_order_relaxed);

    // The guest executed HLT: like a KVM vCPU thread, block until the next timer interrupt.
    if (!machine->config.spin) timer_device_wait_for_tick_after(&machine->timer, tick);
  }
  return NULL;
}
