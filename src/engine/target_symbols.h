// Binding a bundle's symbols to addresses in one target process (design §4): symbols of the
// target module by their offset from its load bias, thread-locals of the target executable by
// their TP offset, and externals by name in the libraries the target has loaded.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "elf/elf_file.h"
#include "engine/patch_image.h"
#include "process/modules.h"

namespace hotpatch {

class TargetSymbols {
 public:
  // `module`/`module_elf`: the module the bundle targets; `modules`: everything pid maps.
  TargetSymbols(pid_t pid, const Module& module, const elf::ElfFile& module_elf,
                std::vector<Module> modules);

  // One ResolvedSymbol per bundle symbol, in order. Throws Error(kMismatch) naming the first
  // external symbol that no loaded library defines, or a thread-local the module has no TLS for.
  std::vector<ResolvedSymbol> Resolve(const bundle::Bundle& bundle);

  // Address of a defined dynamic symbol `name` in any loaded module (the target module first),
  // or nullopt.
  std::optional<RemotePtr> FindExternal(const std::string& name);

 private:
  bool IsMainExecutable() const;

  pid_t pid_;
  const Module& module_;
  const elf::ElfFile& module_elf_;
  std::vector<Module> modules_;
  std::map<std::string, elf::ElfFile> opened_;  // by module path, opened on first need
};

}  // namespace hotpatch
