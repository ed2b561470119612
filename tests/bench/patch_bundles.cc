#include "patch_bundles.h"

#include <unistd.h>

#include <fstream>
#include <iterator>

#include "base/error.h"
#include "support/scratch_directory.h"
#include "shell_command.h"
#include "support/target_process.h"

namespace hotpatch::bench {

std::string BuiltTool(const std::string& relative_path) {
  std::string path = test::BinaryDir() + "/" + relative_path;
  return access(path.c_str(), X_OK) == 0 ? path : "";
}

std::vector<uint8_t> BuildPatchBundle(const std::string& patch, const std::string& target,
                                      const std::string& id, const std::string& keep_at) {
  std::string generator = BuiltTool("patchgen/hotpatch-gen");
  if (generator.empty())
    throw Error(ErrorCode::kNotFound, "hotpatch-gen is not built in " + test::BinaryDir());
  test::ScratchDirectory scratch("patch");
  std::string source = std::string(HOTPATCH_BENCH_PATCHES_DIR) + "/" + patch + ".c";
  std::string object = scratch.path() + "/" + patch + ".o";
  std::string bundle = keep_at.empty() ? scratch.path() + "/" + patch + ".hpb" : keep_at;
  // Position-independent, one section per function, frame pointers: the flags of hotpatch-gen
  // build, so the stack walk through patch code stays reliable.
  RunCommand("cc -O2 -g -fPIE -ffunction-sections -fdata-sections -fno-omit-frame-pointer -c " +
             source + " -o " + object);
  RunCommand(generator + " pack --target " + target + " --object " + object + " --id " + id +
             " -o " + bundle);
  std::ifstream in(bundle, std::ios::binary);
  if (!in) throw Error(ErrorCode::kInternal, "hotpatch-gen pack wrote no file " + bundle);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace hotpatch::bench
