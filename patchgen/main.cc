// hotpatch-gen: from a source fix to a patch bundle (design §7 for the command lines).
#include <iostream>
#include <map>

#include "base/error.h"
#include "command_line.h"
#include "commands.h"

namespace {

constexpr char kUsage[] =
    "usage: hotpatch-gen diff   --target BIN --orig OBJ|DIR... --patched OBJ|DIR... -o OUT.hpb\n"
    "                           [--id NAME] [--description TEXT] [--debug-file FILE]\n"
    "                           [--placement auto|reserved|dead|mapping]\n"
    "       hotpatch-gen build  --target BIN --source DIR --patch FIX.diff [--build CMD] -o "
    "OUT.hpb\n"
    "                           [--id NAME] [--description TEXT] [--debug-file FILE] "
    "[--keep-temp]\n"
    "       hotpatch-gen pack   --target BIN --object PATCH.o -o OUT.hpb [--id NAME]\n"
    "                           [--description TEXT] [--placement auto|reserved|dead|mapping]\n"
    "       hotpatch-gen keygen -o KEYBASE          (writes KEYBASE.key and KEYBASE.pub)\n"
    "       hotpatch-gen sign   --key KEYBASE.key BUNDLE [-o OUT]\n";

}  // namespace

int main(int argc, char** argv) {
  using namespace hotpatch::patchgen;
  std::map<std::string, int (*)(const std::vector<std::string>&)> commands = {
      {"diff", DiffCommand},     {"build", BuildCommand}, {"pack", PackCommand},
      {"keygen", KeygenCommand}, {"sign", SignCommand},
  };
  if (argc < 2 || !commands.count(argv[1])) {
    std::cerr << kUsage;
    return 2;
  }
  std::vector<std::string> args(argv + 2, argv + argc);
  try {
    return commands[argv[1]](args);
  } catch (const UsageError& e) {
    std::cerr << "hotpatch-gen " << argv[1] << ": " << e.what() << "\n" << kUsage;
    return 2;
  } catch (const hotpatch::Error& e) {
    std::cerr << "hotpatch-gen " << argv[1] << ": " << e.what() << "\n";
    return e.code() == hotpatch::ErrorCode::kMismatch ? 4 : 1;
  } catch (const std::exception& e) {
    std::cerr << "hotpatch-gen " << argv[1] << ": " << e.what() << "\n";
    return 1;
  }
}
