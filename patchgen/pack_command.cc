// hotpatch-gen pack --target BIN --object PATCH.o -o OUT.hpb [--id NAME] [--description TEXT]
//                   [--placement auto|reserved|dead|mapping]
// The first packer (issue 3): every function PATCH.o defines under a target function's name
// replaces it; see bundle/from_object.h for the rules.
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>

#include "base/error.h"
#include "bundle/from_object.h"
#include "command_line.h"
#include "commands.h"

namespace hotpatch::patchgen {

bundle::Placement ParsePlacement(const std::string& text) {
  if (text == "auto") return bundle::Placement::kAuto;
  if (text == "reserved") return bundle::Placement::kReserved;
  if (text == "dead") return bundle::Placement::kDeadCode;
  if (text == "mapping") return bundle::Placement::kMapping;
  throw UsageError("--placement must be auto, reserved, dead or mapping, not '" + text + "'");
}

void WriteBundleFile(const std::string& path, const std::vector<uint8_t>& bytes) {
  // Write beside the destination and rename: a reader never sees half a bundle.
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(bytes.data()),
              static_cast<std::streamsize>(bytes.size()));
    if (!out) throw Error(ErrorCode::kInternal, "cannot write " + temporary);
  }
  std::filesystem::rename(temporary, path);
}

int PackCommand(const std::vector<std::string>& args) {
  auto parsed =
      ParseArguments(args, {"--target", "--object", "-o", "--id", "--description", "--placement"});
  if (!parsed.positional.empty())
    throw UsageError("unexpected argument " + parsed.positional.front());
  const std::string& target_path = parsed.Required("--target");
  const std::string& object_path = parsed.Required("--object");
  const std::string& output = parsed.Required("-o");

  bundle::FromObjectOptions options;
  options.patch_id =
      parsed.Optional("--id").value_or(std::filesystem::path(output).stem().string());
  options.description = parsed.Optional("--description").value_or("");
  options.preferred_placement = ParsePlacement(parsed.Optional("--placement").value_or("auto"));
  options.created_unix = static_cast<uint64_t>(std::time(nullptr));

  elf::ElfFile target = elf::ElfFile::Open(target_path);
  elf::ElfFile object = elf::ElfFile::Open(object_path);
  bundle::Bundle b = bundle::BundleFromObject(object, target, options);
  WriteBundleFile(output, bundle::WriteBundle(b));
  std::cout << "wrote " << output << ": patch " << b.patch_id << ", " << b.replaced.size()
            << " replaced and " << b.new_functions.size() << " new functions for "
            << b.target_module << "\n";
  return 0;
}

}  // namespace hotpatch::patchgen
