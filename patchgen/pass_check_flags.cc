// CheckFlags: the diff works function by function and datum by datum, which needs each in its
// own section (-ffunction-sections -fdata-sections): only then are a function's bytes and
// relocations separable from its neighbours', and only then does a change of one not shift the
// offsets of all others.
#include <elf.h>

#include <set>

#include "base/error.h"
#include "diff_passes.h"

namespace hotpatch::patchgen {
namespace {

// Where GCC puts code and data when not asked for one section each.
const std::set<std::string> kSharedCodeSections = {".text", ".text.unlikely", ".text.startup",
                                                   ".text.hot", ".text.exit"};
const std::set<std::string> kSharedDataSections = {
    ".data",           ".bss",         ".rodata",           ".tdata", ".tbss", ".data.rel",
    ".data.rel.local", ".data.rel.ro", ".data.rel.ro.local"};

void CheckObject(const ObjectFile& object) {
  std::set<std::string> missing;
  std::string example;
  for (const elf::Symbol& symbol : object.elf.symbols()) {
    if (symbol.section_index == SHN_UNDEF || symbol.section_index >= SHN_LORESERVE ||
        symbol.section_index >= object.elf.sections().size()) {
      continue;
    }
    const std::string& section = object.elf.sections()[symbol.section_index].name;
    if (symbol.type == STT_FUNC && kSharedCodeSections.count(section)) {
      if (missing.insert("-ffunction-sections").second)
        example += " " + symbol.name + " in " + section;
    }
    if ((symbol.type == STT_OBJECT || symbol.type == STT_TLS) &&
        kSharedDataSections.count(section)) {
      if (missing.insert("-fdata-sections").second) example += " " + symbol.name + " in " + section;
    }
  }
  if (missing.empty()) return;
  std::string flags;
  for (const std::string& flag : missing) flags += (flags.empty() ? "" : " ") + flag;
  throw Error(ErrorCode::kBadRequest, object.path + ": compiled without " + flags + " (found" +
                                          example + "); rebuild with " + flags);
}

}  // namespace

void CheckFlags(DiffSession& session) {
  for (const auto& object : session.orig_objects) CheckObject(*object);
  for (const auto& object : session.patched_objects) CheckObject(*object);
}

}  // namespace hotpatch::patchgen
