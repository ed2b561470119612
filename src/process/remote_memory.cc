#include "process/remote_memory.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/error.h"

namespace hotpatch {

namespace {

std::string Where(pid_t pid, RemotePtr address, size_t size) {
  return "pid " + std::to_string(pid) + " at " + address.ToString() + " (" + std::to_string(size) +
         " bytes)";
}

}  // namespace

RemoteMemory::RemoteMemory(pid_t pid) : pid_(pid) {
  std::string path = "/proc/" + std::to_string(pid) + "/mem";
  mem_fd_.reset(::open(path.c_str(), O_RDWR | O_CLOEXEC));
  if (!mem_fd_.valid()) {
    int err = errno;
    // A vanished /proc entry means the process is gone; say so rather than "no such file".
    throw ErrnoError("open " + path, err == ENOENT ? ESRCH : err);
  }
}

size_t RemoteMemory::TryRead(RemotePtr address, std::span<uint8_t> out) const {
  size_t done = 0;
  while (done < out.size()) {
    iovec local{out.data() + done, out.size() - done};
    iovec remote{reinterpret_cast<void*>(address.value() + done), out.size() - done};
    ssize_t n = ::process_vm_readv(pid_, &local, 1, &remote, 1, 0);
    // A partial read stops at a page boundary; the next call then fails on the bad page.
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  return done;
}

size_t RemoteMemory::TryReadScattered(std::span<const RemoteRange> from,
                                      std::span<uint8_t* const> into) const {
  std::vector<iovec> local, remote;
  for (size_t i = 0; i < from.size() && i < into.size(); ++i) {
    local.push_back({into[i], from[i].size()});
    remote.push_back({reinterpret_cast<void*>(from[i].begin.value()), from[i].size()});
  }
  size_t done = 0;
  // process_vm_readv takes at most IOV_MAX (1024) vectors a call, and stops at the first remote
  // vector it cannot read (a partial count), so one unreadable region ends the batch.
  while (done < remote.size()) {
    size_t count = std::min<size_t>(remote.size() - done, 1024);
    ssize_t n = ::process_vm_readv(pid_, &local[done], count, &remote[done], count, 0);
    if (n <= 0) break;
    size_t bytes = static_cast<size_t>(n);
    size_t whole = 0;
    while (whole < count && bytes >= remote[done + whole].iov_len)
      bytes -= remote[done + whole++].iov_len;
    done += whole;
    if (whole < count) break;
  }
  return done;
}

void RemoteMemory::Read(RemotePtr address, std::span<uint8_t> out) const {
  size_t done = TryRead(address, out);
  while (done < out.size()) {
    ssize_t n = ::pread(mem_fd_.get(), out.data() + done, out.size() - done,
                        static_cast<off_t>(address.value() + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      throw ErrnoError("read memory of " + Where(pid_, address + done, out.size() - done), err);
    }
    done += static_cast<size_t>(n);
  }
}

std::vector<uint8_t> RemoteMemory::Read(RemotePtr address, size_t size) const {
  std::vector<uint8_t> bytes(size);
  Read(address, bytes);
  return bytes;
}

void RemoteMemory::Write(RemotePtr address, std::span<const uint8_t> bytes) const {
  size_t done = 0;
  while (done < bytes.size()) {
    ssize_t n = ::pwrite(mem_fd_.get(), bytes.data() + done, bytes.size() - done,
                         static_cast<off_t>(address.value() + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = n < 0 ? errno : EIO;
      throw ErrnoError("write memory of " + Where(pid_, address + done, bytes.size() - done), err);
    }
    done += static_cast<size_t>(n);
  }
}

}  // namespace hotpatch
