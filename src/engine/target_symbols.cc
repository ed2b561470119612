#include "engine/target_symbols.h"

#include <elf.h>

#include <filesystem>

#include "base/error.h"
#include "engine/relocation.h"

namespace hotpatch {

namespace {

bool DefinesDynamic(const elf::Symbol& s) {
  return s.section_index != SHN_UNDEF && (s.binding == STB_GLOBAL || s.binding == STB_WEAK) &&
         (s.type == STT_FUNC || s.type == STT_OBJECT || s.type == STT_GNU_IFUNC ||
          s.type == STT_NOTYPE);
}

}  // namespace

TargetSymbols::TargetSymbols(pid_t pid, const Module& module, const elf::ElfFile& module_elf,
                             std::vector<Module> modules)
    : pid_(pid), module_(module), module_elf_(module_elf), modules_(std::move(modules)) {}

bool TargetSymbols::IsMainExecutable() const {
  // /proc/PID/exe names the executable as it was mapped (with " (deleted)" once replaced).
  for (const auto& m : module_.mappings)
    if (m.executable && m.path == module_.path) {
      std::error_code error;
      auto exe = std::filesystem::read_symlink("/proc/" + std::to_string(pid_) + "/exe", error);
      std::string exe_path = exe.string();
      const std::string deleted = " (deleted)";
      if (exe_path.ends_with(deleted)) exe_path.resize(exe_path.size() - deleted.size());
      return !error && exe_path == module_.path;
    }
  return false;
}

std::optional<RemotePtr> TargetSymbols::FindExternal(const std::string& name) {
  auto lookup = [&](const Module& m, const elf::ElfFile& elf) -> std::optional<RemotePtr> {
    for (const auto* s : elf.FindSymbols(name)) {
      if (!s->dynamic || !DefinesDynamic(*s)) continue;
      // An IFUNC's value is its resolver, not the implementation; calling it would return a
      // function pointer instead of doing the work. Refuse rather than guess.
      if (s->type == STT_GNU_IFUNC)
        throw Error(ErrorCode::kUnsupported,
                    "external symbol " + name + " in " + m.path +
                        " is a GNU indirect function; call it through a target function instead");
      return m.load_bias + static_cast<int64_t>(s->value);
    }
    return std::nullopt;
  };
  if (auto found = lookup(module_, module_elf_)) return found;
  for (const auto& m : modules_) {
    if (m.path == module_.path || m.path.empty() || m.path == "[vdso]") continue;
    auto it = opened_.find(m.path);
    if (it == opened_.end()) {
      try {
        it = opened_.emplace(m.path, OpenModuleElf(pid_, m)).first;
      } catch (const Error&) {
        continue;  // a mapping we cannot read as ELF (e.g. a data file) defines nothing
      }
    }
    if (auto found = lookup(m, it->second)) return found;
  }
  return std::nullopt;
}

std::vector<ResolvedSymbol> TargetSymbols::Resolve(const bundle::Bundle& bundle) {
  std::vector<ResolvedSymbol> resolved;
  resolved.reserve(bundle.symbols.size());
  for (const auto& s : bundle.symbols) {
    ResolvedSymbol r;
    r.name = s.name;
    switch (s.kind) {
      case bundle::SymbolKind::kDefined:
        r.kind = ResolvedSymbol::kInImage;
        r.section = s.section;
        r.value = s.value;
        break;
      case bundle::SymbolKind::kTarget:
        if (s.thread_local_symbol) {
          // Only the executable's TLS block sits at a fixed offset from the thread pointer
          // (x86-64 TLS variant II); a library's block is found through the DTV at run time.
          const elf::Segment* tls = module_elf_.tls_segment();
          if (tls == nullptr)
            throw Error(ErrorCode::kMismatch, "thread-local " + s.name + ": target module " +
                                                  module_.path + " has no PT_TLS segment");
          if (!IsMainExecutable())
            throw Error(ErrorCode::kUnsupported,
                        "thread-local " + s.name + " of shared library " + module_.path +
                            ": only the executable's thread-locals can be patched");
          r.kind = ResolvedSymbol::kTargetTls;
          r.value = static_cast<uint64_t>(
              ExecutableTpOffset(s.value, tls->vaddr, tls->memory_size, tls->alignment));
        } else {
          r.kind = ResolvedSymbol::kAbsolute;
          r.value = (module_.load_bias + static_cast<int64_t>(s.value)).value();
        }
        break;
      case bundle::SymbolKind::kExternal: {
        auto address = FindExternal(s.name);
        if (!address)
          throw Error(ErrorCode::kMismatch, "external symbol " + s.name +
                                                " is not defined by any library loaded in pid " +
                                                std::to_string(pid_));
        r.kind = ResolvedSymbol::kAbsolute;
        r.value = address->value();
        break;
      }
    }
    resolved.push_back(std::move(r));
  }
  return resolved;
}

}  // namespace hotpatch
