#include "process/modules.h"

#include <elf.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <map>

#include "base/error.h"
#include "base/unique_fd.h"
#include "elf/elf_identity.h"
#include "process/remote_memory.h"

namespace hotpatch {

namespace {

constexpr std::string_view kVdsoName = "[vdso]";
// ld.so and the kernel map PT_LOAD segments at page granularity (ELF_PAGESTART).
constexpr uint64_t kPageSize = 4096;

uint64_t PageDown(uint64_t value) {
  return value & ~(kPageSize - 1);
}

std::string Describe(pid_t pid, const Module& module) {
  return module.path + (module.deleted ? " (deleted)" : "") + " of pid " + std::to_string(pid);
}

void ThrowIfProcessGone(pid_t pid) {
  if (::kill(pid, 0) != 0 && errno == ESRCH) {
    throw Error(ErrorCode::kNoSuchProcess, "pid " + std::to_string(pid) + ": no such process");
  }
}

// A descriptor of the file the module's first mapping maps. /proc/PID/map_files/<begin>-<end>
// is the mapped inode itself, even when the path was unlinked or now names another file; opening
// it needs CAP_SYS_ADMIN (the daemon runs as root). /proc/PID/root/<path> resolves the path in the
// target's mount namespace, right only while the file is unchanged.
UniqueFd OpenMappedFile(pid_t pid, const Module& module) {
  const Mapping& first = module.mappings.front();
  char map_file[96];
  std::snprintf(map_file, sizeof map_file, "/proc/%d/map_files/%llx-%llx", pid,
                static_cast<unsigned long long>(first.range.begin.value()),
                static_cast<unsigned long long>(first.range.end.value()));
  UniqueFd fd(::open(map_file, O_RDONLY | O_CLOEXEC));
  if (fd.valid()) return fd;
  int map_files_error = errno;
  ThrowIfProcessGone(pid);
  if (!module.deleted) {
    std::string rooted = "/proc/" + std::to_string(pid) + "/root" + module.path;
    fd.reset(::open(rooted.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.valid()) return fd;
    ThrowIfProcessGone(pid);
  }
  if (map_files_error == ENOENT) {
    throw Error(ErrorCode::kNotFound,
                Describe(pid, module) + ": no longer mapped at " + first.range.begin.ToString());
  }
  throw ErrnoError("open " + std::string(map_file) + " for " + Describe(pid, module),
                   map_files_error);
}

// The bias is what the loader added to every p_vaddr. The lowest mapping of the module maps the
// page of some PT_LOAD's p_offset at the page of that segment's p_vaddr + bias.
RemotePtr LoadBias(const std::vector<elf::Segment>& segments, const Mapping& lowest) {
  for (const elf::Segment& segment : segments) {
    if (segment.type == PT_LOAD && PageDown(segment.offset) == lowest.offset) {
      return lowest.range.begin - static_cast<int64_t>(PageDown(segment.vaddr));
    }
  }
  return lowest.range.begin - static_cast<int64_t>(elf::FirstLoadVaddr(segments));
}

// Groups file mappings per loaded file. Key: (device, inode), so that two paths of one file are
// one module; a second mapping of file offset 0 of the same file starts another load of it
// (dlmopen into another namespace, or the program mapping the file itself).
std::vector<Module> GroupMappings(const std::vector<Mapping>& mappings) {
  std::vector<Module> modules;
  std::map<std::pair<std::string, uint64_t>, size_t> current_load;
  for (const Mapping& mapping : mappings) {
    bool is_vdso = mapping.path == kVdsoName;
    if (!is_vdso && (mapping.inode == 0 || !mapping.path.starts_with('/'))) continue;
    auto key = std::make_pair(mapping.device, mapping.inode);
    auto found = current_load.find(key);
    bool new_load = is_vdso || found == current_load.end() || mapping.offset == 0;
    if (new_load) {
      Module module;
      module.path = mapping.path;
      module.deleted = mapping.deleted;
      module.range = mapping.range;
      modules.push_back(std::move(module));
      if (!is_vdso) current_load[key] = modules.size() - 1;
    }
    Module& module = new_load ? modules.back() : modules[found->second];
    module.mappings.push_back(mapping);
    module.range.begin = std::min(module.range.begin, mapping.range.begin);
    module.range.end = std::max(module.range.end, mapping.range.end);
  }
  return modules;
}

}  // namespace

elf::ElfFile OpenModuleElf(pid_t pid, const Module& module) {
  if (module.mappings.empty()) {
    throw Error(ErrorCode::kBadRequest, Describe(pid, module) + ": module has no mappings");
  }
  if (module.path == kVdsoName) {
    // The vDSO is an ELF image the kernel maps from its own memory; its mapping holds the whole
    // image, section headers included.
    const Mapping& image = module.mappings.front();
    auto bytes = RemoteMemory(pid).Read(image.range.begin, image.range.size());
    return elf::ElfFile::FromBytes(std::move(bytes), Describe(pid, module));
  }
  UniqueFd fd = OpenMappedFile(pid, module);
  return elf::ElfFile::FromFd(fd.get(), Describe(pid, module));
}

std::vector<Module> ReadModules(pid_t pid) {
  std::vector<Module> modules;
  for (Module& module : GroupMappings(ReadMappings(pid))) {
    std::vector<elf::Segment> segments;
    try {
      if (module.path == kVdsoName) {
        elf::ElfFile vdso = OpenModuleElf(pid, module);
        segments = vdso.segments();
        module.build_id_hex = vdso.build_id_hex();
      } else {
        UniqueFd fd = OpenMappedFile(pid, module);
        elf::ElfIdentity identity = elf::ReadElfIdentity(fd.get(), Describe(pid, module));
        segments = std::move(identity.segments);
        module.build_id_hex = identity.build_id_hex();
      }
    } catch (const Error& e) {
      // Unmapped since we read the maps (dlclose), a mapped data file (locale archive), or an ELF
      // we cannot parse: not a module we could patch. A vanished process is the caller's business.
      if (e.code() == ErrorCode::kNotFound || e.code() == ErrorCode::kBadRequest ||
          e.code() == ErrorCode::kUnsupported) {
        continue;
      }
      throw;
    }
    module.load_bias = LoadBias(segments, module.mappings.front());
    modules.push_back(std::move(module));
  }
  return modules;
}

const Module* FindModuleByBuildId(const std::vector<Module>& modules, std::string_view hex) {
  if (hex.empty()) return nullptr;
  for (const Module& module : modules) {
    if (module.build_id_hex.size() != hex.size()) continue;
    bool same = true;
    for (size_t i = 0; i < hex.size() && same; ++i) {
      same = module.build_id_hex[i] == std::tolower(static_cast<unsigned char>(hex[i]));
    }
    if (same) return &module;
  }
  return nullptr;
}

const Module* FindModuleContaining(const std::vector<Module>& modules, RemotePtr address) {
  for (const Module& module : modules) {
    if (!module.range.contains(address)) continue;
    for (const Mapping& mapping : module.mappings) {
      if (mapping.range.contains(address)) return &module;
    }
  }
  return nullptr;
}

}  // namespace hotpatch
