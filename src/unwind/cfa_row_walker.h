// The common stack, walked without libunwind: every frame in a module whose CFI rows are in the
// subset cfa_rows.h reads, down to the frame whose CFI marks the return address undefined.
//
// Why a second unwinder: libunwind blocks every signal around each access to its register-state
// cache (two rt_sigprocmask per frame with UNW_CACHE_GLOBAL; Debian's build has no per-thread
// cache) and parses each FDE through one access_mem call per word. Inside the stop that was most
// of the unwind phase (docs/performance.md). Here a row is found with one binary search of the
// .eh_frame_hdr table already copied out of the target, and each row serves every thread of the
// stop that is at the same pc.
//
// It never decides against a thread: whatever it does not handle — a signal frame, patch code
// without CFI, clone's CFI gap, a frame outside known code, a row outside the subset, an
// unreadable or zero return address, a loop — is nullopt, and StackWalker walks that stack with
// libunwind, whose verdict and message stand. When it answers, it answers what libunwind's walk
// gives (the same frames, pcs and stack pointers): tests/unit/unwind/cfa_row_walker_test.cc
// compares the two on every stop of several targets.
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <optional>
#include <unordered_map>

#include "unwind/cfa_rows.h"
#include "unwind/cfi_address_space.h"
#include "unwind/stack_walker.h"

namespace hotpatch::unwind {

class CfaRowWalker {
 public:
  explicit CfaRowWalker(CfiAddressSpace& space) : space_(space) {}

  // The reliable stack of stopped thread `tid`, or nullopt (see above). Call
  // CfiAddressSpace::EnsureModulesKnown first, as for a libunwind walk.
  std::optional<Stack> TryWalk(pid_t tid, const user_regs_struct& regs);

  // While the target runs: parses the rows a stop will need for a thread blocked in the kernel
  // at `pc` with stack pointer `sp` (TryReadBlockedThreadSite), so that the stop finds them
  // parsed. Only rows read from lasting memory are kept.
  void LearnRowsWhileRunning(uint64_t pc, uint64_t sp);

  // Rows read only from lasting memory (the read-only CFI pages StopMemoryCache keeps) hold as
  // long as it does (StopMemoryCache::lasting_generation); the others for one stop. Call after
  // every resume: the CFI of writable or executable segments may change while the target runs.
  void ForgetRowsOfStop() { rows_of_stop_.clear(); }
  // Every row: whenever code ranges are added or removed, which changes the module of a pc.
  void ForgetRows() {
    rows_of_stop_.clear();
    lasting_rows_.clear();
  }

  // How many rows were parsed (FindCfaRow calls), for tests and the benchmark.
  uint64_t rows_parsed() const { return rows_parsed_; }

 private:
  enum class Mode { kStopped, kLearningWhileRunning };
  // How much of a blocked thread's stack LearnRowsWhileRunning looks through for return addresses:
  // the frames from a blocking system call out to the thread's start, in most programs.
  static constexpr uint64_t kLearningScanBytes = 8192;

  const CfaRow* RowFor(const CodeModule& module, uint64_t lookup_pc, Mode mode);

  CfiAddressSpace& space_;
  std::unordered_map<uint64_t, std::optional<CfaRow>> rows_of_stop_;  // by lookup pc
  std::unordered_map<uint64_t, std::optional<CfaRow>> lasting_rows_;  // by lookup pc
  uint64_t lasting_generation_ = 0;  // of the memory lasting_rows_ were read from
  uint64_t rows_parsed_ = 0;
};

}  // namespace hotpatch::unwind
