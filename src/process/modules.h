// The ELF modules (executable, shared libraries, vDSO) mapped in a process, with the load bias
// that turns an ELF virtual address of the module into a target address.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/remote_ptr.h"
#include "elf/elf_file.h"
#include "process/maps.h"

namespace hotpatch {

struct Module {
  std::string path;               // as in /proc/PID/maps (without " (deleted)"), or "[vdso]"
  RemotePtr load_bias;            // target address = load_bias + ELF vaddr
  RemoteRange range;              // from the first to the end of the last mapping of the module
  std::vector<Mapping> mappings;  // its file-backed mappings (and the [vdso] one), in address order
  std::string build_id_hex;       // "" if the ELF has no NT_GNU_BUILD_ID
  bool deleted = false;           // the file was unlinked or replaced after it was mapped
};

// File-backed ELF mappings grouped per loaded file, plus the [vdso]. Non-ELF file mappings (data
// files, locale archives) and ELF files that fail to parse (they could not be patched anyway) are
// left out. Throws kNoSuchProcess naming the pid if the process is gone.
std::vector<Module> ReadModules(pid_t pid);

// The module's ELF as it is mapped, not as the path on disk may read now (the file may have been
// replaced or deleted since): through /proc/PID/map_files/<begin>-<end>, falling back to
// /proc/PID/root/<path> (honours the target's mount namespace) when map_files cannot be opened.
// The [vdso] has no file: its image is read from target memory.
elf::ElfFile OpenModuleElf(pid_t pid, const Module& module);

// The module with that build-id (hex, any case), or null.
const Module* FindModuleByBuildId(const std::vector<Module>& modules, std::string_view hex);
// The result points into `modules`: a temporary list would leave it dangling (ASan found one).
const Module* FindModuleByBuildId(std::vector<Module>&& modules, std::string_view hex) = delete;
// The module one of whose mappings contains `address`, or null.
const Module* FindModuleContaining(const std::vector<Module>& modules, RemotePtr address);

}  // namespace hotpatch
