#include "hotpatchd/caller_bundle_path.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "base/error.h"

namespace hotpatch::daemon {

UniqueFd OpenCallerBundlePath(const std::string& path, const CallerCredentials& caller) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (!fd.valid()) {
    if (errno == ELOOP)
      throw Error(ErrorCode::kPermissionDenied, "bundle_path " + path + " is a symbolic link");
    if (errno == ENOENT)
      throw Error(ErrorCode::kNotFound, "bundle_path " + path + " does not exist");
    throw ErrnoError("open bundle_path " + path);
  }
  struct stat st {};
  if (fstat(fd.get(), &st) != 0) throw ErrnoError("fstat bundle_path " + path);
  if (!S_ISREG(st.st_mode))
    throw Error(ErrorCode::kPermissionDenied, "bundle_path " + path + " is not a regular file");
  if (st.st_uid != 0 && st.st_uid != caller.uid)
    throw Error(ErrorCode::kPermissionDenied,
                "bundle_path " + path + " is owned by uid " + std::to_string(st.st_uid) +
                    ", neither the caller (uid " + std::to_string(caller.uid) + ") nor root");
  if (st.st_mode & S_IWOTH)
    throw Error(ErrorCode::kPermissionDenied,
                "bundle_path " + path + " is writable by others; anyone could change the patch");
  return fd;
}

}  // namespace hotpatch::daemon
