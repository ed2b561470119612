#include "process/mapping_query.h"

#include <sys/ioctl.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

namespace hotpatch {

namespace {

// struct procmap_query of include/uapi/linux/fs.h (Linux 6.11), field for field. The kernel
// accepts any `size` it knows and zero-fills what it does not (copy_struct_from_user).
struct ProcmapQuery {
  uint64_t size;
  uint64_t query_flags;    // in: PROCMAP_QUERY_* filters; 0 = the VMA containing query_addr
  uint64_t query_addr;     // in
  uint64_t vma_start;      // out
  uint64_t vma_end;        // out
  uint64_t vma_flags;      // out: PROCMAP_QUERY_VMA_{READABLE,WRITABLE,EXECUTABLE,SHARED}
  uint64_t vma_page_size;  // out
  uint64_t vma_offset;     // out: file offset of vma_start
  uint64_t inode;          // out
  uint32_t dev_major;      // out
  uint32_t dev_minor;      // out
  uint32_t vma_name_size;  // in/out: 0 = do not return the name
  uint32_t build_id_size;  // in/out: 0 = do not return the build-id
  uint64_t vma_name_addr;  // in
  uint64_t build_id_addr;  // in
};
static_assert(sizeof(ProcmapQuery) == 104);

constexpr uint64_t kVmaReadable = 0x01;
constexpr uint64_t kVmaWritable = 0x02;
constexpr uint64_t kVmaExecutable = 0x04;
constexpr uint64_t kVmaShared = 0x08;
// _IOWR(PROCFS_IOCTL_MAGIC = 'f', 17, struct procmap_query)
constexpr unsigned long kProcmapQuery = 0xC0686611;

}  // namespace

MappingQuery::MappingQuery(pid_t pid) : maps_(OpenMapsFile(pid)) {}

std::optional<Mapping> MappingQuery::TryFind(RemotePtr address) {
  if (!supported_) return std::nullopt;
  ProcmapQuery query{};
  query.size = sizeof query;
  query.query_addr = address.value();
  if (::ioctl(maps_.get(), kProcmapQuery, &query) != 0) {
    // ENOTTY: a kernel before 6.11. ENOENT: nothing mapped there. ESRCH: the process is gone
    // (its mm was released). Anything else is treated like "unknown", so callers read the maps.
    if (errno == ENOTTY || errno == EINVAL) supported_ = false;
    return std::nullopt;
  }
  Mapping mapping;
  mapping.range = {RemotePtr(query.vma_start), RemotePtr(query.vma_end)};
  mapping.readable = (query.vma_flags & kVmaReadable) != 0;
  mapping.writable = (query.vma_flags & kVmaWritable) != 0;
  mapping.executable = (query.vma_flags & kVmaExecutable) != 0;
  mapping.shared = (query.vma_flags & kVmaShared) != 0;
  mapping.offset = query.vma_offset;
  mapping.inode = query.inode;
  // As /proc/PID/maps prints it (show_map_vma: at least two hex digits each).
  char device[32];
  std::snprintf(device, sizeof device, "%02x:%02x", query.dev_major, query.dev_minor);
  mapping.device = device;
  return mapping;
}

}  // namespace hotpatch
