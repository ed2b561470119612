// LoadObjects: the target, and the objects named by --orig and --patched.
#include <elf.h>

#include <algorithm>
#include <filesystem>

#include "base/error.h"
#include "diff_passes.h"

namespace hotpatch::patchgen {
namespace {

namespace fs = std::filesystem;

std::string SourceFileOf(const elf::ElfFile& object) {
  for (const elf::Symbol& symbol : object.symbols()) {
    if (symbol.type == STT_FILE) return symbol.name;
  }
  return "";
}

std::unique_ptr<ObjectFile> OpenObject(const std::string& path, const std::string& name) {
  elf::ElfFile file = elf::ElfFile::Open(path);
  if (file.type() != ET_REL || file.machine() != EM_X86_64) {
    throw Error(ErrorCode::kBadRequest, path + ": not an x86-64 relocatable object (.o)");
  }
  std::string source_file = SourceFileOf(file);
  std::string unit_name = elf::ReadDwarfUnitName(path);
  return std::unique_ptr<ObjectFile>(new ObjectFile{
      name, path, std::move(file), std::move(source_file), std::move(unit_name), {}, {}});
}

// A root is an object file (known by its file name) or a directory searched recursively for
// *.o (each known by its path below the directory, so two builds of one tree pair up).
std::vector<std::unique_ptr<ObjectFile>> LoadRoots(const std::vector<std::string>& roots,
                                                   const std::string& option) {
  std::vector<std::unique_ptr<ObjectFile>> objects;
  for (const std::string& root : roots) {
    if (fs::is_directory(root)) {
      std::vector<fs::path> found;
      for (const auto& entry : fs::recursive_directory_iterator(root)) {
        if (entry.is_regular_file() && entry.path().extension() == ".o")
          found.push_back(entry.path());
      }
      std::sort(found.begin(), found.end());
      for (const fs::path& path : found) {
        objects.push_back(OpenObject(path.string(), fs::relative(path, root).string()));
      }
    } else if (fs::exists(root)) {
      objects.push_back(OpenObject(root, fs::path(root).filename().string()));
    } else {
      throw Error(ErrorCode::kNotFound, option + " " + root + ": no such file or directory");
    }
  }
  if (objects.empty()) throw Error(ErrorCode::kBadRequest, option + ": no object files found");
  return objects;
}

}  // namespace

void LoadObjects(DiffSession& session) {
  session.target =
      std::make_unique<TargetModule>(session.options.target_path, session.options.debug_file);
  session.orig_objects = LoadRoots(session.options.orig_roots, "--orig");
  session.patched_objects = LoadRoots(session.options.patched_roots, "--patched");
  for (auto& patched : session.patched_objects) {
    ObjectPair pair;
    pair.patched = patched.get();
    for (auto& orig : session.orig_objects) {
      if (orig->name == patched->name) pair.orig = orig.get();
    }
    if (pair.orig == nullptr && !patched->source_file.empty()) {
      std::vector<ObjectFile*> same_source;
      for (auto& orig : session.orig_objects) {
        if (orig->source_file == patched->source_file) same_source.push_back(orig.get());
      }
      if (same_source.size() == 1) pair.orig = same_source.front();
    }
    if (pair.orig == nullptr) {
      session.notes.push_back(patched->name + ": no original object: every function in it is new");
    }
    session.pairs.push_back(std::move(pair));
  }
}

}  // namespace hotpatch::patchgen
