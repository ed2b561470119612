// Finding a `syscall` instruction to borrow for remote system calls (design §6 "Remote
// syscalls": the stopped thread is pointed at an existing syscall and single-stepped).
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "base/remote_ptr.h"

namespace hotpatch::x86_64 {

// The address of the first `syscall` (0f 05) that is a real instruction in a linear sweep from
// the start of `code` — not the bytes 0f 05 inside another instruction's immediate or
// displacement. `code` must start at an instruction boundary (a function's start). The sweep
// stops at the first byte that does not decode, since boundaries after it are guesses.
std::optional<RemotePtr> FindSyscallInstruction(std::span<const uint8_t> code, RemotePtr address);

}  // namespace hotpatch::x86_64
