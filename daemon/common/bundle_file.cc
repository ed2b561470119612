#include "common/bundle_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include "base/error.h"

namespace hotpatch {

std::vector<uint8_t> ReadBundleFile(int fd, const std::string& what) {
  struct stat st {};
  if (fstat(fd, &st) != 0) throw ErrnoError("fstat " + what);
  // A FIFO or device passed as "bundle" could block the reading thread forever.
  if (!S_ISREG(st.st_mode)) throw Error(ErrorCode::kBadBundle, what + " is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxBundleBytes)
    throw Error(ErrorCode::kBadBundle,
                what + " is larger than " + std::to_string(kMaxBundleBytes) + " bytes");
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    // pread: the descriptor's offset belongs to the caller who passed it.
    ssize_t n = pread(fd, bytes.data() + done, bytes.size() - done, static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) throw ErrnoError("reading " + what);
    if (n == 0) break;  // truncated meanwhile: ReadBundle will say what is missing
    done += static_cast<size_t>(n);
  }
  bytes.resize(done);
  return bytes;
}

}  // namespace hotpatch
