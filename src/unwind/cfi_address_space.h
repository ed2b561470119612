// libunwind's view of one tracee: an unw_addr_space_t whose accessors read the tracee through a
// per-stop page cache, take registers from the stop, and find CFI in .eh_frame_hdr tables read
// from the tracee's memory. Created once per process, so libunwind's CFI cache survives stops.
#pragma once

#include <libunwind-ptrace.h>
#include <sys/types.h>
#include <sys/user.h>

#include <optional>
#include <string>
#include <vector>

#include "base/remote_ptr.h"
#include "process/remote_memory.h"
#include "unwind/cfi_free_code.h"
#include "unwind/code_modules.h"
#include "unwind/stop_memory_cache.h"

namespace hotpatch::unwind {

class CfiAddressSpace;

// What the accessors need during one libunwind cursor's life: handed to unw_init_remote as its
// argument, and given back to every accessor call.
struct WalkContext {
  CfiAddressSpace* space = nullptr;
  user_regs_struct regs{};  // the registers of the cursor's first frame
  // Set when a CFI lookup failed. libunwind's x86-64 unw_step then silently guesses the caller
  // from rbp; a guessed frame is never reliable, so the walk must notice.
  bool cfi_missing = false;
  uint64_t cfi_missing_pc = 0;
};

// Where a pc is, for the walker's checks.
struct CodeLocation {
  const CodeModule* module = nullptr;        // with CFI (module or AddCodeRangeWithEhFrameHdr)
  std::optional<CfiFreeRule> cfi_free_rule;  // in a range added without CFI
  bool known() const { return module != nullptr || cfi_free_rule.has_value(); }
};

class CfiAddressSpace {
 public:
  CfiAddressSpace(pid_t pid, const RemoteMemory& memory);
  ~CfiAddressSpace();
  CfiAddressSpace(const CfiAddressSpace&) = delete;
  CfiAddressSpace& operator=(const CfiAddressSpace&) = delete;

  unw_addr_space_t handle() const { return address_space_; }
  StopMemoryCache& memory() { return memory_; }
  pid_t pid() const { return pid_; }

  // Checks the modules once per stop (after ForgetCachedMemory): reads /proc/PID/maps, and
  // rescans the objects' ELF headers and CFI tables only when the mappings of code changed since
  // the last scan; flushes libunwind's CFI cache when the set of modules differs.
  void EnsureModulesKnown();
  void ForgetCachedMemory();

  CodeLocation Locate(uint64_t pc) const;

  void AddCfiFreeRange(RemoteRange range, CfiFreeRule rule);
  void AddEhFrameHdrRange(RemoteRange range, RemotePtr eh_frame_hdr);
  void RemoveRange(RemoteRange range);

  // For the accessors.
  int FindProcInfo(uint64_t ip, unw_proc_info_t* info, int need_unwind_info, WalkContext* context);

 private:
  struct CfiFreeRange {
    RemoteRange range;
    CfiFreeRule rule;
  };
  struct EhFrameHdrRange {
    RemoteRange range;
    RemotePtr eh_frame_hdr;
  };

  pid_t pid_;
  StopMemoryCache memory_;
  unw_addr_space_t address_space_ = nullptr;
  bool modules_known_ = false;
  std::vector<CodeModule> modules_;        // from /proc/PID/maps, rescanned when code_mappings_
  std::vector<Mapping> code_mappings_;     // change (CodeMappings)
  std::vector<CodeModule> added_modules_;  // from AddEhFrameHdrRange, tables read every stop
  std::vector<EhFrameHdrRange> eh_frame_hdr_ranges_;
  std::vector<CfiFreeRange> cfi_free_ranges_;
};

}  // namespace hotpatch::unwind
