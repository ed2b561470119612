// A temporary directory removed with everything in it when the benchmark step that made it ends,
// even on an exception: generated sources, objects and bundles never pile up in /tmp.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <string>

#include "base/error.h"

namespace hotpatch::bench {

class ScratchDirectory {
 public:
  explicit ScratchDirectory(const std::string& purpose) {
    std::string name = "/tmp/hotpatch-bench-" + purpose + "-XXXXXX";
    if (mkdtemp(name.data()) == nullptr) throw ErrnoError("mkdtemp " + name);
    path_ = name;
  }
  ~ScratchDirectory() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDirectory(const ScratchDirectory&) = delete;
  ScratchDirectory& operator=(const ScratchDirectory&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace hotpatch::bench
