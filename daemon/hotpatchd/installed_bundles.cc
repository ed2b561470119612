#include "hotpatchd/installed_bundles.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>

#include "base/error.h"
#include "base/hex.h"
#include "base/unique_fd.h"
#include "bundle/bundle.h"
#include "bundle/checksum.h"
#include "common/bundle_file.h"
#include "hotpatchd/request_log.h"
#include "hotpatchd/trusted_keys.h"

namespace hotpatch::daemon {
namespace {

std::shared_ptr<const InstalledBundleFile> Describe(std::span<const uint8_t> bytes) {
  bundle::Bundle b = bundle::ReadBundle(bytes);
  auto file = std::make_shared<InstalledBundleFile>();
  file->patch_id = b.patch_id;
  file->description = b.description;
  file->target_module = b.target_module;
  file->target_build_id = HexDigits(b.target_build_id);
  file->checksum = bundle::ChecksumHex(bundle::StoredChecksum(bytes));
  file->bytes.assign(bytes.begin(), bytes.end());
  return file;
}

void MakeDirectory(const std::string& path) {
  if (mkdir(path.c_str(), 0700) != 0 && errno != EEXIST) throw ErrnoError("mkdir " + path);
}

void FsyncPath(const std::string& path, int flags) {
  UniqueFd fd(open(path.c_str(), flags | O_CLOEXEC));
  if (!fd.valid() || fsync(fd.get()) != 0) throw ErrnoError("fsync " + path);
}

}  // namespace

InstalledBundles::InstalledBundles(const std::string& state_dir, const TrustedKeys& trusted_keys,
                                   RequestLog& log)
    : dir_(state_dir + "/installed") {
  std::error_code error;
  std::filesystem::create_directories(state_dir, error);
  if (error) throw Error(ErrorCode::kInternal, "state dir " + state_dir + ": " + error.message());
  MakeDirectory(dir_);
  for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
    if (entry.path().extension() != ".hpb") continue;
    std::string path = entry.path().string();
    try {
      UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK));
      if (!fd.valid()) throw ErrnoError("open " + path);
      std::vector<uint8_t> bytes = ReadBundleFile(fd.get(), path);
      trusted_keys.RequireTrustedSignature(bytes, "installed bundle " + path);
      auto file = Describe(bytes);
      if (FilePath(file->patch_id) != path)
        throw Error(ErrorCode::kBadBundle, path + " holds patch " + file->patch_id);
      bundles_.push_back(std::move(file));
    } catch (const Error& e) {
      log.Note(std::string("skipping installed bundle: ") + e.what(), true);
    }
  }
  std::sort(bundles_.begin(), bundles_.end(),
            [](const auto& a, const auto& b) { return a->patch_id < b->patch_id; });
}

std::string InstalledBundles::FilePath(const std::string& patch_id) const {
  // Safe as a file name: patch ids are [A-Za-z0-9._+-] (ReadBundle checks), but "." and ".."
  // would be, so the suffix always follows.
  return dir_ + "/" + patch_id + ".hpb";
}

bool InstalledBundles::Install(std::span<const uint8_t> bytes) {
  auto file = Describe(bytes);
  std::lock_guard lock(mutex_);
  for (const auto& existing : bundles_)
    if (existing->patch_id == file->patch_id) {
      if (existing->checksum == file->checksum) return false;
      throw Error(ErrorCode::kUnsupported, "another bundle with patch id " + file->patch_id +
                                               " is installed (checksum " + existing->checksum +
                                               "); uninstall it first");
    }
  std::string path = FilePath(file->patch_id);
  std::string temporary = path + ".tmp";
  {
    UniqueFd fd(
        open(temporary.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
    if (!fd.valid()) throw ErrnoError("create " + temporary);
    size_t done = 0;
    while (done < bytes.size()) {
      ssize_t n = write(fd.get(), bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw ErrnoError("write " + temporary);
      done += static_cast<size_t>(n);
    }
    if (fsync(fd.get()) != 0) throw ErrnoError("fsync " + temporary);
  }
  if (rename(temporary.c_str(), path.c_str()) != 0) throw ErrnoError("rename to " + path);
  // The rename is durable only once the directory is synced.
  FsyncPath(dir_, O_RDONLY | O_DIRECTORY);
  bundles_.push_back(std::move(file));
  return true;
}

bool InstalledBundles::Uninstall(const std::string& patch_id) {
  std::lock_guard lock(mutex_);
  auto it = std::find_if(bundles_.begin(), bundles_.end(),
                         [&](const auto& b) { return b->patch_id == patch_id; });
  if (it == bundles_.end()) return false;
  std::string path = FilePath(patch_id);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) throw ErrnoError("unlink " + path);
  FsyncPath(dir_, O_RDONLY | O_DIRECTORY);
  bundles_.erase(it);
  return true;
}

std::vector<std::shared_ptr<const InstalledBundleFile>> InstalledBundles::Snapshot() const {
  std::lock_guard lock(mutex_);
  return bundles_;
}

}  // namespace hotpatch::daemon
