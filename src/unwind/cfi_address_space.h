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
#include "process/mapping_query.h"
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

  // Reads /proc/PID/maps and, when the mappings of code changed since the last scan, the
  // objects' ELF headers and CFI tables (and their read-only CFI regions into the lasting part of
  // the memory cache). Meant for while the target runs: everything a stop then needs is known.
  // Inside a stop only when what was learned no longer holds (EnsureModulesKnown,
  // LocateVerified).
  void LearnModules();
  // Once per stop, before the first walk (after ForgetCachedMemory). With PROCMAP_QUERY, nothing
  // is read here: LocateVerified confirms each mapping a frame is in, one query per mapping.
  // Without it (a kernel before 6.11), this reads the maps as LearnModules does. Flushes
  // libunwind's CFI cache whenever the set of modules differs.
  void EnsureModulesKnown();
  void ForgetCachedMemory();

  // Where `pc` is, as of this stop: a pc in a learned module is confirmed to still be in the same
  // file mapping; a pc in no known code, or in a mapping that changed, makes it read the maps
  // and rescan. Invalidates CodeLocations returned earlier in this stop.
  CodeLocation LocateVerified(uint64_t pc);
  // Where `pc` is among what is known, without checking (libunwind's lookups, for pcs the walk
  // has verified).
  CodeLocation Locate(uint64_t pc) const;

  void AddCfiFreeRange(RemoteRange range, CfiFreeRule rule);
  void AddEhFrameHdrRange(RemoteRange range, RemotePtr eh_frame_hdr);
  void RemoveRange(RemoteRange range);

  // How often /proc/PID/maps was read (learning, and stops that could not confirm by query).
  uint64_t maps_reads() const { return maps_reads_; }

  // For the accessors.
  int FindProcInfo(uint64_t ip, unw_proc_info_t* info, int need_unwind_info, WalkContext* context);

  struct CfiFreeRange {
    RemoteRange range;
    CfiFreeRule rule;
  };
  struct EhFrameHdrRange {
    RemoteRange range;
    RemotePtr eh_frame_hdr;
  };
  // The ranges added above and not removed (for a second address space of the same target).
  const std::vector<CfiFreeRange>& cfi_free_ranges() const { return cfi_free_ranges_; }
  const std::vector<EhFrameHdrRange>& eh_frame_hdr_ranges() const { return eh_frame_hdr_ranges_; }

 private:
  void ScanMappings(const std::vector<Mapping>& mappings);
  void KeepCfiRegionsLasting();
  bool ConfirmStillMapped(uint64_t pc);

  pid_t pid_;
  StopMemoryCache memory_;
  unw_addr_space_t address_space_ = nullptr;
  std::optional<MappingQuery> mapping_query_;  // opened by the first LearnModules
  bool modules_known_ = false;
  // In this stop, modules_ comes from an earlier read of the maps and each mapping a frame is in
  // is confirmed by a query; `confirmed_` holds the mappings confirmed so far.
  bool confirming_by_query_ = false;
  std::vector<RemoteRange> confirmed_;
  uint64_t maps_reads_ = 0;
  std::vector<CodeModule> modules_;        // from /proc/PID/maps, rescanned when code_mappings_
  std::vector<Mapping> code_mappings_;     // change (CodeMappings)
  std::vector<CodeModule> added_modules_;  // from AddEhFrameHdrRange, tables read every stop
  std::vector<EhFrameHdrRange> eh_frame_hdr_ranges_;
  std::vector<CfiFreeRange> cfi_free_ranges_;
};

}  // namespace hotpatch::unwind
