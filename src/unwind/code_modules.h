// The code a thread may legitimately execute, and where its CFI is: every ELF object mapped in
// the tracee (executable, shared libraries, the vDSO), found through /proc/PID/maps and read from
// the tracee's own memory (ELF header, program headers, PT_GNU_EH_FRAME).
//
// Reading the headers from memory instead of from the file is what makes the vDSO work (it has no
// file) and what keeps a rebuilt file on disk from lying about the code that is really mapped.
//
// Not process/modules.h's ReadModules: that opens every module's file for its build-id, and this
// runs at every stop; here only the in-memory headers matter.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "base/remote_ptr.h"
#include "process/maps.h"
#include "unwind/eh_frame_hdr.h"
#include "unwind/stop_memory_cache.h"

namespace hotpatch::unwind {

struct CodeModule {
  std::string name;               // path as /proc/PID/maps shows it, or "[vdso]"
  RemotePtr load_bias;            // what the dynamic loader added to every p_vaddr
  std::vector<RemoteRange> code;  // executable PT_LOAD segments that are mapped executable
  bool has_cfi = false;           // false: `cfi_problem` says why
  EhFrameSearchTable cfi;         // valid when has_cfi
  std::string cfi_problem;

  bool operator==(const CodeModule& other) const {
    return name == other.name && load_bias == other.load_bias && code == other.code;
  }
};

// Reads /proc/PID/maps and the ELF headers of every mapped object. Throws kNoSuchProcess when the
// process is gone.
std::vector<CodeModule> FindCodeModules(pid_t pid, StopMemoryCache& memory);
// The same from mappings already read.
std::vector<CodeModule> FindCodeModules(const std::vector<Mapping>& mappings,
                                        StopMemoryCache& memory);

// The mappings FindCodeModules depends on: every file (and the vDSO) and every executable
// mapping. Equal lists give equal modules, so the heap or a new thread's stack growing, which
// changes /proc/PID/maps at almost every stop of a busy process, does not force a rescan.
std::vector<Mapping> CodeMappings(const std::vector<Mapping>& mappings);
bool SameCodeMappings(const std::vector<Mapping>& a, const std::vector<Mapping>& b);

}  // namespace hotpatch::unwind
