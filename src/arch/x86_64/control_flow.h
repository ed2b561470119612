// Coarse control-flow facts about a decoded function.
#pragma once

#include <vector>

#include "arch/x86_64/instruction.h"

namespace hotpatch::x86_64 {

// Whether control can leave the function other than by calling out: a ret, a jump (conditional
// or not) whose target lies outside every decoded instruction (a tail call, or a jump to code we
// were not given), or an indirect jump (a tail call through a pointer cannot be told apart from a
// switch's jump table, so it counts as a way out). False means the function never returns — a
// thread's main loop — so no stack check can ever pass while a thread runs it.
// `instructions` may hold several parts of one function (hot and .cold) in any order.
bool HasReturnPath(const std::vector<Instruction>& instructions);

}  // namespace hotpatch::x86_64
