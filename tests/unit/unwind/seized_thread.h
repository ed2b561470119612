// Test-local ptrace control of one thread: seize, interrupt, read registers, resume, detach.
// The production code for this is ProcessAttachment in src/process; these tests keep their own
// few lines so that they exercise only the walker.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace hotpatch::test {

class SeizedThread {
 public:
  // PTRACE_SEIZE (no stop yet). Throws std::runtime_error on failure.
  explicit SeizedThread(pid_t tid);
  ~SeizedThread();  // stops the thread if needed and detaches, suppressing a pending SIGTRAP
  SeizedThread(const SeizedThread&) = delete;
  SeizedThread& operator=(const SeizedThread&) = delete;

  // PTRACE_INTERRUPT and wait for the stop.
  void Interrupt();
  // Waits for the next stop; returns the raw wait status.
  int WaitForStop();
  void Continue();

  user_regs_struct Registers() const;
  void SetRegisters(const user_regs_struct& regs);
  pid_t tid() const { return tid_; }

 private:
  pid_t tid_;
  bool stopped_ = false;
};

// The value of "name=VALUE" in a target's line (decimal or 0x-hex). Throws when absent.
uint64_t LineField(std::string_view line, std::string_view name);

// st_size of function `name` in the symbol table of the ELF file at `path`. Throws when absent.
uint64_t FunctionSize(const std::string& path, std::string_view name);

}  // namespace hotpatch::test
