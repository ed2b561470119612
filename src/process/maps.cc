#include "process/maps.h"

#include <fcntl.h>
#include <unistd.h>

#include <charconv>

#include "base/error.h"
#include "base/unique_fd.h"

namespace hotpatch {

namespace {

// The kernel marks a mapping whose file was unlinked (or replaced by rename) this way (d_path).
constexpr std::string_view kDeletedSuffix = " (deleted)";

// Consumes a hex number followed by `separator` from the front of `text`.
bool TakeHex(std::string_view& text, char separator, uint64_t& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, 16);
  if (ec != std::errc() || end == text.data() + text.size() || *end != separator) return false;
  text.remove_prefix(end - text.data() + 1);
  return true;
}

std::string_view TakeWord(std::string_view& text) {
  size_t end = text.find(' ');
  std::string_view word = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  return word;
}

// "start-end perms offset major:minor inode   path" (fs/proc/task_mmu.c show_map_vma). The path
// is padded with spaces after the inode and may itself contain spaces, so it is everything after
// the padding; the kernel escapes only '\n' in it.
bool ParseLine(std::string_view line, Mapping& mapping) {
  uint64_t begin = 0, end = 0;
  if (!TakeHex(line, '-', begin) || !TakeHex(line, ' ', end)) return false;
  mapping.range = {RemotePtr(begin), RemotePtr(end)};
  std::string_view perms = TakeWord(line);
  if (perms.size() != 4) return false;
  mapping.readable = perms[0] == 'r';
  mapping.writable = perms[1] == 'w';
  mapping.executable = perms[2] == 'x';
  mapping.shared = perms[3] == 's';
  if (!TakeHex(line, ' ', mapping.offset)) return false;
  mapping.device = TakeWord(line);
  std::string_view inode = TakeWord(line);
  auto [ptr, ec] = std::from_chars(inode.data(), inode.data() + inode.size(), mapping.inode);
  if (ec != std::errc() || ptr != inode.data() + inode.size()) return false;
  size_t path_begin = line.find_first_not_of(' ');
  std::string_view path = path_begin == std::string_view::npos ? "" : line.substr(path_begin);
  mapping.deleted = mapping.inode != 0 && path.ends_with(kDeletedSuffix);
  if (mapping.deleted) path.remove_suffix(kDeletedSuffix.size());
  mapping.path = path;
  return true;
}

}  // namespace

bool SameMappingIgnoringPath(const Mapping& a, const Mapping& b) {
  return a.range == b.range && a.readable == b.readable && a.writable == b.writable &&
         a.executable == b.executable && a.shared == b.shared && a.offset == b.offset &&
         a.device == b.device && a.inode == b.inode;
}

std::vector<Mapping> ParseMappings(std::string_view text, const std::string& source) {
  std::vector<Mapping> mappings;
  while (!text.empty()) {
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty()) continue;
    Mapping mapping;
    if (!ParseLine(line, mapping)) {
      throw Error(ErrorCode::kInternal, source + ": unexpected line '" + std::string(line) + "'");
    }
    mappings.push_back(std::move(mapping));
  }
  return mappings;
}

UniqueFd OpenMapsFile(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/maps";
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    int err = errno;
    if (err == ENOENT)
      throw Error(ErrorCode::kNoSuchProcess, "pid " + std::to_string(pid) + ": no such process");
    throw ErrnoError("open " + path, err);
  }
  return fd;
}

std::vector<Mapping> ReadMappings(pid_t pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/maps";
  UniqueFd fd = OpenMapsFile(pid);
  // The kernel fills each read() with whole lines from a consistent snapshot of the VMA it
  // resumes at; reading in large chunks keeps the number of snapshots small.
  std::string text;
  char chunk[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd.get(), chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      // The process exited between open and read: the kernel reports ESRCH.
      throw ErrnoError("read " + path, err);
    }
    if (n == 0) break;
    text.append(chunk, static_cast<size_t>(n));
  }
  auto mappings = ParseMappings(text, path);
  // A live user process always has mappings; an empty file means its mm is gone (zombie or exit
  // in progress).
  if (mappings.empty()) {
    throw Error(ErrorCode::kNoSuchProcess,
                "pid " + std::to_string(pid) + ": has exited (no address space)");
  }
  return mappings;
}

}  // namespace hotpatch
