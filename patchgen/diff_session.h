// The state `hotpatch-gen diff` builds up, pass after pass (diff_passes.h lists the passes in the
// order RunDiff calls them). Each pass reads what the earlier ones left here and adds its part.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bundle/bundle.h"
#include "elf/dwarf_types.h"
#include "elf/elf_file.h"
#include "target_module.h"

namespace hotpatch::patchgen {

struct DiffOptions {
  std::string target_path;
  std::optional<std::string> debug_file;
  std::vector<std::string> orig_roots;  // object files or directories searched for *.o
  std::vector<std::string> patched_roots;
  std::string output;
  std::string patch_id;
  std::string description;
  bundle::Placement preferred_placement = bundle::Placement::kAuto;
  uint64_t created_unix = 0;
};

// A function (with its .cold parts) or a data item of one object, under its normalised name.
struct ObjectEntity {
  std::string key;
  const elf::Symbol* symbol = nullptr;
  std::vector<const elf::Symbol*> cold_parts;
  bool is_function = false;
};

struct ObjectFile {
  std::string name;  // path relative to the --orig/--patched root, or the file name
  std::string path;
  elf::ElfFile elf;
  std::string source_file;  // its STT_FILE: what the target's locals from it carry
  std::string unit_name;    // its DWARF compile unit's name, for two files of one base name
  LocalOrigin origin() const { return {source_file, unit_name}; }
  // Filled by CorrelateSections:
  std::map<std::string, ObjectEntity> entities;                                  // by key
  std::map<uint32_t, std::pair<std::string, const elf::Symbol*>> section_owner;  // -> key, symbol
};

enum class FunctionChange { kUnchanged, kChanged, kLineNumbersOnly, kNew };

// A patched object and the original one it replaces (null: a source file the fix adds).
struct ObjectPair {
  ObjectFile* orig = nullptr;
  ObjectFile* patched = nullptr;
  std::map<std::string, FunctionChange> function_changes;      // by patched entity key
  std::optional<elf::DwarfSummary> orig_dwarf, patched_dwarf;  // read only when needed
};

// A function whose patched code goes into the bundle.
struct KeptFunction {
  ObjectPair* pair = nullptr;
  std::string key;
  bool replaces_original = false;              // false: new, or its original is not in the target
  const elf::Symbol* target_symbol = nullptr;  // MatchTarget: the function it replaces
};

struct DiffSession {
  DiffOptions options;
  std::unique_ptr<TargetModule> target;
  std::vector<std::unique_ptr<ObjectFile>> orig_objects, patched_objects;
  std::vector<ObjectPair> pairs;
  std::vector<KeptFunction> kept;                                     // ClosureOfNeededSymbols
  std::set<std::pair<const ObjectFile*, uint32_t>> carried_sections;  // patched sections
  bundle::Bundle bundle;                                              // EmitBundle
  std::vector<std::string> notes;  // printed for the user at the end

  bool IsKept(const ObjectFile* patched, const std::string& key) const {
    for (const KeptFunction& function : kept) {
      if (function.pair->patched == patched && function.key == key) return true;
    }
    return false;
  }
};

}  // namespace hotpatch::patchgen
