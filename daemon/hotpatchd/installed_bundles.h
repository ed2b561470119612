// The bundles `hotpatchctl install` keeps: one file per patch in <state-dir>/installed/, so that
// they outlive the daemon (a restarted hotpatchd keeps applying them to new processes).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace hotpatch::daemon {

class RequestLog;
class TrustedKeys;

struct InstalledBundleFile {
  std::string patch_id;
  std::string description;
  std::string target_module;    // the bundle's file name of the module, e.g. "minivmx"
  std::string target_build_id;  // hex
  std::string checksum;         // hex; tells two bundles with one patch id apart
  std::vector<uint8_t> bytes;
};

class InstalledBundles {
 public:
  // Creates <state_dir>/installed (mode 0700) if needed and loads every *.hpb in it. A file that
  // is no valid bundle, or fails `trusted_keys`, is skipped and logged: one bad file must not keep
  // the daemon (and every other installed patch) from starting.
  InstalledBundles(const std::string& state_dir, const TrustedKeys& trusted_keys, RequestLog& log);

  // Stores `bytes` (a bundle that ReadBundle accepted) durably: written to a temporary file,
  // fsync'ed and renamed, so that a crash leaves the old state or the new one, never a torn
  // bundle. Returns false when the same bundle is installed already. Throws Error(kUnsupported)
  // for another bundle with the same patch id (uninstall that first).
  bool Install(std::span<const uint8_t> bytes);

  // Removes the bundle's file. Returns false when no bundle with that id is installed.
  bool Uninstall(const std::string& patch_id);

  std::vector<std::shared_ptr<const InstalledBundleFile>> Snapshot() const;

 private:
  std::string FilePath(const std::string& patch_id) const;

  std::string dir_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const InstalledBundleFile>> bundles_;
};

}  // namespace hotpatch::daemon
