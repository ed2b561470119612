// RefuseUnsafeChanges: what a running process cannot take.
// - Existing data with a changed initial value: the process initialised it long ago and has
//   been changing it since; a patch cannot tell which value to keep. (Make the fix set the value
//   in code instead.)
// - A new thread-local: TLS blocks of running threads cannot grow.
// - A replaced function whose prototype changed while something other than replaced code calls
//   it (or takes its address): those callers would pass the old arguments.
// - A changed layout (size, member offsets) of a struct, union or class the changed functions
//   use, directly or through a variable: the process holds instances laid out the old way,
//   which the new code would misread.
#include <elf.h>

#include <set>

#include "base/error.h"
#include "base/hex.h"
#include "diff_passes.h"
#include "reference_targets.h"
#include "relocation_fields.h"
#include "symbol_names.h"

namespace hotpatch::patchgen {
namespace {

struct DataImage {
  uint32_t section_type = 0;
  uint64_t size = 0;
  std::vector<uint8_t> masked_bytes;
  std::vector<std::string> references;
};

DataImage ImageOf(const ObjectFile& object, const elf::Symbol& symbol) {
  const elf::Section& section = object.elf.sections()[symbol.section_index];
  DataImage image;
  image.section_type = section.type;
  image.size = symbol.size;
  if (section.type == SHT_NOBITS) return image;
  std::vector<elf::Relocation> relocations;
  for (const elf::Relocation& relocation : SectionRelocations(object.elf, section.index)) {
    if (relocation.offset < symbol.value || relocation.offset >= symbol.value + symbol.size)
      continue;
    relocations.push_back(relocation);
    image.references.push_back(std::to_string(relocation.offset - symbol.value) + ": " +
                               DescribeReference(object, relocation));
  }
  const auto bytes = object.elf.SectionData(section);
  if (symbol.value + symbol.size <= bytes.size()) {
    image.masked_bytes =
        MaskRelocatedBytes(bytes.subspan(symbol.value, symbol.size), relocations, symbol.value);
  }
  return image;
}

void RefuseChangedData(const ObjectPair& pair) {
  if (pair.orig == nullptr) return;
  for (const auto& [key, entity] : pair.patched->entities) {
    if (entity.is_function) continue;
    const auto original = pair.orig->entities.find(key);
    if (original == pair.orig->entities.end() || original->second.is_function) continue;
    // Changed constants travel as new copies (reference_targets.h, IsConstantData).
    if (IsConstantData(pair.patched->elf.sections()[entity.symbol->section_index])) continue;
    const DataImage before = ImageOf(*pair.orig, *original->second.symbol);
    const DataImage after = ImageOf(*pair.patched, *entity.symbol);
    std::string what;
    if (before.size != after.size) {
      what = "changed size (" + std::to_string(before.size) + " -> " + std::to_string(after.size) +
             " bytes)";
    } else if (before.section_type != after.section_type ||
               before.masked_bytes != after.masked_bytes || before.references != after.references) {
      what = "changed initial value";
    }
    if (what.empty()) continue;
    throw Error(ErrorCode::kUnsupported,
                pair.patched->path + ": existing data '" + entity.symbol->name + "' has a " + what +
                    ": the running process initialised it long ago, a patch cannot change that "
                    "(set the new value from code instead)");
  }
}

// A static local the bundle would carry as new while the original object has one of the same
// name that no patched static matches: statics of one name are told apart by the functions that
// use them (pass_correlate_sections.cc), and when those changed (a function now inlined
// elsewhere) a fresh copy would silently lose the running process's value.
void RefuseUnmatchedStatics(const DiffSession& session) {
  for (const ObjectPair& pair : session.pairs) {
    if (pair.orig == nullptr) continue;
    for (const auto& [key, entity] : pair.patched->entities) {
      if (entity.is_function || entity.symbol->binding != STB_LOCAL ||
          pair.orig->entities.count(key) != 0 ||
          session.carried_sections.count({pair.patched, entity.symbol->section_index}) == 0) {
        continue;
      }
      const std::string name = NormalizeSymbolName(entity.symbol->name).key;
      for (const auto& [orig_key, original] : pair.orig->entities) {
        if (original.is_function || original.symbol->binding != STB_LOCAL ||
            NormalizeSymbolName(original.symbol->name).key != name ||
            pair.patched->entities.count(orig_key) != 0) {
          continue;
        }
        throw Error(ErrorCode::kUnsupported,
                    pair.patched->path + ": static '" + name + "' (" + key +
                        ") matches no original one, and the original's " + orig_key +
                        " matches no patched one: the functions using it changed, so which "
                        "storage of the running process it is cannot be told");
      }
    }
  }
}

void RefuseNewThreadLocals(const DiffSession& session) {
  for (const auto& [object, section_index] : session.carried_sections) {
    const elf::Section& section = object->elf.sections()[section_index];
    if ((section.flags & SHF_TLS) == 0) continue;
    const auto owner = object->section_owner.find(section_index);
    const std::string name =
        owner == object->section_owner.end() ? section.name : owner->second.second->name;
    throw Error(ErrorCode::kUnsupported, object->path + ": new thread-local '" + name +
                                             "': the TLS blocks of running threads cannot grow");
  }
}

std::string DescribeLayoutChange(const elf::DwarfTypeLayout& before,
                                 const elf::DwarfTypeLayout& after) {
  if (before.byte_size != after.byte_size) {
    return "size " + std::to_string(before.byte_size) + " -> " + std::to_string(after.byte_size) +
           " bytes";
  }
  for (size_t i = 0; i < std::max(before.members.size(), after.members.size()); ++i) {
    if (i >= before.members.size()) return "new member " + after.members[i].name;
    if (i >= after.members.size()) return "member " + before.members[i].name + " removed";
    const auto& a = before.members[i];
    const auto& b = after.members[i];
    if (a.name != b.name) return "member " + a.name + " became " + b.name;
    if (a.offset != b.offset) {
      return "member " + a.name + " moved from offset " + std::to_string(a.offset) + " to " +
             std::to_string(b.offset);
    }
    if (a.byte_size != b.byte_size) {
      return "member " + a.name + " size " + std::to_string(a.byte_size) + " -> " +
             std::to_string(b.byte_size);
    }
  }
  return "layout";
}

// The names of the variables a function's code refers to: globals by their symbols (defined
// here or not), statics through the section symbol or label the assembler put in their place.
std::set<std::string> VariablesReferenced(const ObjectFile& object, const ObjectEntity& function) {
  std::set<std::string> names;
  std::vector<const elf::Symbol*> parts = {function.symbol};
  parts.insert(parts.end(), function.cold_parts.begin(), function.cold_parts.end());
  for (const elf::Symbol* part : parts) {
    for (const elf::Relocation& relocation : SectionRelocations(object.elf, part->section_index)) {
      if (relocation.symbol_index >= object.elf.symbols().size()) continue;
      const elf::Symbol& symbol = object.elf.symbols()[relocation.symbol_index];
      if (symbol.section_index == SHN_UNDEF || symbol.type == STT_OBJECT ||
          symbol.type == STT_TLS) {
        names.insert(symbol.name);  // an undefined function is simply not a DWARF variable
        continue;
      }
      const auto owner = object.section_owner.find(symbol.section_index);
      if (owner != object.section_owner.end() && owner->second.second->type != STT_FUNC) {
        names.insert(owner->second.second->name);
      }
    }
  }
  return names;
}

void RefuseChangedTypes(const ObjectPair& pair, const std::set<std::string>& used_types,
                        const std::string& user) {
  for (const std::string& type : used_types) {
    // Every function and variable of the original unit that reached the type recorded its old
    // layout.
    const auto old_found = pair.orig_dwarf->types.find(type);
    if (old_found == pair.orig_dwarf->types.end()) continue;  // a type the fix introduces
    const auto& old_layout = old_found->second;
    const auto& new_layout = pair.patched_dwarf->types.at(type);
    if (old_layout == new_layout) continue;
    throw Error(ErrorCode::kUnsupported,
                pair.patched->path + ": " + type + ", used by " + user + ", changed layout (" +
                    DescribeLayoutChange(old_layout, new_layout) +
                    "): the running process holds instances laid out the old way");
  }
}

// Types reach a kept function through its return type, parameters and locals (its DWARF
// subprogram), and through the variables its code refers to (a global's DWARF type): a struct
// used only through `extern struct settings settings` is as much in use as a parameter's.
void RefuseChangedLayouts(DiffSession& session) {
  for (const KeptFunction& function : session.kept) {
    ObjectPair& pair = *function.pair;
    if (pair.orig == nullptr) continue;
    if (!pair.orig_dwarf) pair.orig_dwarf = elf::ReadDwarfSummary(pair.orig->path);
    if (!pair.patched_dwarf) pair.patched_dwarf = elf::ReadDwarfSummary(pair.patched->path);
    const ObjectEntity& entity = pair.patched->entities.at(function.key);
    const std::string& name = entity.symbol->name;
    if (!pair.orig_dwarf->has_debug_info || !pair.patched_dwarf->has_debug_info) {
      session.notes.push_back(name + ": no DWARF (-g) in the objects: type layouts not checked");
      continue;
    }
    if (const auto* described = pair.patched_dwarf->FindFunction(name)) {
      RefuseChangedTypes(pair, described->used_types, name);
    } else {
      session.notes.push_back(name + ": not described in " + pair.patched->name +
                              "'s DWARF: the types of its parameters and locals not checked");
    }
    for (const std::string& variable : VariablesReferenced(*pair.patched, entity)) {
      const auto* described = pair.patched_dwarf->FindVariable(variable);
      if (described == nullptr) continue;
      RefuseChangedTypes(pair, described->used_types, name + " through " + variable);
    }
  }
}

// Whether the relocated field is the rel32 of a call, jmp or jcc: the byte before it is the
// opcode (E8, E9, or 0F 8x). A RIP-relative operand that takes an address instead (lea, mov)
// follows a ModRM byte of the form 00xxx101, never one of those.
bool IsCallOrJump(const ObjectFile& object, const elf::Section& section,
                  const elf::Relocation& relocation) {
  if ((section.flags & SHF_EXECINSTR) == 0 || relocation.offset < 1) return false;
  if (relocation.type != R_X86_64_PLT32 && relocation.type != R_X86_64_PC32) return false;
  const auto bytes = object.elf.SectionData(section);
  if (relocation.offset > bytes.size()) return false;
  const uint8_t opcode = bytes[relocation.offset - 1];
  if (opcode == 0xe8 || opcode == 0xe9) return true;
  return relocation.offset >= 2 && bytes[relocation.offset - 2] == 0x0f && (opcode & 0xf0) == 0x80;
}

// The first place in the patched object, other than a call from a kept function or the function's
// own code, that refers to `function`: a caller the patch does not replace, or a taken address
// (a function pointer in data, a lea). Empty when there is none.
std::string ReferenceOutsideReplacedCalls(const DiffSession& session, const ObjectFile& object,
                                          const ObjectEntity& function) {
  std::set<uint32_t> own_sections = {function.symbol->section_index};
  for (const elf::Symbol* cold : function.cold_parts) own_sections.insert(cold->section_index);
  for (const elf::Section& section : object.elf.sections()) {
    // Unwind tables and DWARF name every function; they are not callers.
    if ((section.flags & SHF_ALLOC) == 0 || section.name == ".eh_frame") continue;
    const bool own = own_sections.count(section.index) != 0;
    const bool carried = session.carried_sections.count({&object, section.index}) != 0;
    for (const elf::Relocation& relocation : SectionRelocations(object.elf, section.index)) {
      if (relocation.symbol_index >= object.elf.symbols().size()) continue;
      const elf::Symbol& symbol = object.elf.symbols()[relocation.symbol_index];
      const bool names_function =
          &symbol == function.symbol ||
          (symbol.type == STT_SECTION && symbol.section_index == function.symbol->section_index);
      if (!names_function || own) continue;
      if (carried && IsCallOrJump(object, section, relocation)) continue;
      const auto owner = object.section_owner.find(section.index);
      const std::string referrer =
          owner == object.section_owner.end() ? section.name : owner->second.second->name;
      return referrer + (carried ? " takes its address" : " refers to it and is not replaced");
    }
  }
  return "";
}

// A replaced function keeps its address: whatever reached it before (callers the patch does not
// replace, other modules, function pointers the process stored) now runs the new code with the
// old arguments. A local's references are all in its object, so a changed prototype is fine
// when each is a call from replaced code; a global's callers cannot be known.
void RefuseChangedSignatures(DiffSession& session) {
  for (const KeptFunction& function : session.kept) {
    ObjectPair& pair = *function.pair;
    if (!function.replaces_original || !pair.orig_dwarf || !pair.patched_dwarf) continue;
    const ObjectEntity& entity = pair.patched->entities.at(function.key);
    const ObjectEntity& original = pair.orig->entities.at(function.key);
    const auto* before = pair.orig_dwarf->FindFunction(original.symbol->name);
    const auto* after = pair.patched_dwarf->FindFunction(entity.symbol->name);
    if (before == nullptr || after == nullptr || before->overloaded || after->overloaded ||
        before->signature == after->signature) {
      continue;
    }
    const std::string change = pair.patched->path + ": " + entity.symbol->name +
                               " changed its signature (" + before->signature + " -> " +
                               after->signature + ")";
    if (original.symbol->binding != STB_LOCAL) {
      throw Error(ErrorCode::kUnsupported,
                  change +
                      ": callers the patch does not replace (other objects and modules, "
                      "function pointers) would pass the old arguments; give the new "
                      "version a new name");
    }
    const std::string referrer = ReferenceOutsideReplacedCalls(session, *pair.patched, entity);
    if (!referrer.empty()) {
      throw Error(
          ErrorCode::kUnsupported,
          change + ": " + referrer + "; code that reaches it that way passes the old arguments");
    }
  }
}

}  // namespace

void RefuseUnsafeChanges(DiffSession& session) {
  for (const ObjectPair& pair : session.pairs) RefuseChangedData(pair);
  RefuseNewThreadLocals(session);
  RefuseUnmatchedStatics(session);
  RefuseChangedLayouts(session);  // reads the DWARF RefuseChangedSignatures compares
  RefuseChangedSignatures(session);
}

}  // namespace hotpatch::patchgen
