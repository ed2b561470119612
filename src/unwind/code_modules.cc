#include "unwind/code_modules.h"

#include <elf.h>

#include <algorithm>
#include <cstring>

#include "process/maps.h"

namespace hotpatch::unwind {

namespace {

// Where an ELF object can start: the mapping of file offset 0 of a file, or the vDSO. Anonymous
// memory, the stack and [vvar] (not readable through ptrace) never hold an ELF header we want.
bool MayStartElfObject(const Mapping& mapping) {
  if (mapping.offset != 0 || !mapping.readable || mapping.path.empty()) return false;
  if (mapping.path[0] == '/') return true;
  return mapping.path == "[vdso]";
}

void AddExecutablePieces(RemoteRange segment, const std::vector<Mapping>& mappings,
                         std::vector<RemoteRange>* code) {
  for (const Mapping& mapping : mappings) {
    if (!mapping.executable || !mapping.range.overlaps(segment)) continue;
    code->push_back(
        {std::max(mapping.range.begin, segment.begin), std::min(mapping.range.end, segment.end)});
  }
}

}  // namespace

std::vector<CodeModule> FindCodeModules(pid_t pid, StopMemoryCache& memory) {
  return FindCodeModules(ReadMappings(pid), memory);
}

std::vector<Mapping> CodeMappings(const std::vector<Mapping>& mappings) {
  std::vector<Mapping> code;
  for (const Mapping& mapping : mappings)
    if (!mapping.path.empty() || mapping.executable) code.push_back(mapping);
  return code;
}

bool SameCodeMappings(const std::vector<Mapping>& a, const std::vector<Mapping>& b) {
  auto same = [](const Mapping& x, const Mapping& y) {
    return SameMappingIgnoringPath(x, y) && x.path == y.path && x.deleted == y.deleted;
  };
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), same);
}

std::vector<CodeModule> FindCodeModules(const std::vector<Mapping>& mappings,
                                        StopMemoryCache& memory) {
  std::vector<CodeModule> modules;
  for (const Mapping& start : mappings) {
    if (!MayStartElfObject(start)) continue;
    Elf64_Ehdr header;
    if (!memory.TryReadBytes(start.range.begin, &header, sizeof header)) continue;
    // A data file that happens to be mapped at offset 0 (locale archive, a database) is skipped
    // here; so is an ELF file mapped for reading only, below, since none of it is executable.
    if (std::memcmp(header.e_ident, ELFMAG, SELFMAG) != 0 ||
        header.e_ident[EI_CLASS] != ELFCLASS64 || header.e_machine != EM_X86_64 ||
        header.e_phentsize != sizeof(Elf64_Phdr))
      continue;
    std::vector<Elf64_Phdr> program_headers(header.e_phnum);
    if (!memory.TryReadBytes(start.range.begin + header.e_phoff, program_headers.data(),
                             program_headers.size() * sizeof(Elf64_Phdr)))
      continue;

    CodeModule module;
    module.name = start.path;
    // The mapping at file offset 0 is the first PT_LOAD segment (ELF gABI: loadable segments are
    // sorted by p_vaddr, and the loader maps the first one from offset 0, page-aligned).
    const Elf64_Phdr* first_load = nullptr;
    for (const Elf64_Phdr& ph : program_headers)
      if (ph.p_type == PT_LOAD) {
        first_load = &ph;
        break;
      }
    if (first_load == nullptr) continue;
    module.load_bias = start.range.begin - static_cast<int64_t>(first_load->p_vaddr & ~0xfffULL);
    RemotePtr eh_frame_hdr;
    for (const Elf64_Phdr& ph : program_headers) {
      if (ph.p_type == PT_LOAD && (ph.p_flags & PF_X) != 0) {
        RemotePtr begin = module.load_bias + static_cast<int64_t>(ph.p_vaddr);
        AddExecutablePieces({begin, begin + static_cast<int64_t>(ph.p_memsz)}, mappings,
                            &module.code);
      }
      if (ph.p_type == PT_GNU_EH_FRAME)
        eh_frame_hdr = module.load_bias + static_cast<int64_t>(ph.p_vaddr);
    }
    if (module.code.empty()) continue;
    if (eh_frame_hdr.is_null()) {
      module.cfi_problem = "no PT_GNU_EH_FRAME segment";
    } else {
      module.has_cfi =
          ReadEhFrameSearchTable(memory, eh_frame_hdr, &module.cfi, &module.cfi_problem);
    }
    modules.push_back(std::move(module));
  }
  return modules;
}

}  // namespace hotpatch::unwind
