// What the patch generator needs from DWARF (libdwarf 20210528, the old API Debian 12 ships):
// for each function, the line it is declared on and the struct/union/class types it can touch
// through its return type, parameters and local variables; for each such type, its byte size and
// member offsets. Comparing the layouts between the original and the patched object is how the
// generator refuses a fix that changes a type the running code already has instances of.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace hotpatch::elf {

struct DwarfMember {
  std::string name;
  uint64_t offset = 0;     // DW_AT_data_member_location (constant form)
  uint64_t byte_size = 0;  // of the member's type, 0 if unknown
  bool operator==(const DwarfMember&) const = default;
};

struct DwarfTypeLayout {
  std::string name;  // "struct point", "union value", "class Counter"
  uint64_t byte_size = 0;
  std::vector<DwarfMember> members;
  bool operator==(const DwarfTypeLayout&) const = default;
};

struct DwarfFunction {
  std::string name;        // the linkage (mangled) name when there is one: the symbol's name
  uint64_t decl_line = 0;  // 0 if absent
  std::set<std::string> used_types;  // keys of DwarfSummary::types
};

struct DwarfSummary {
  bool has_debug_info = false;
  std::map<std::string, DwarfFunction> functions;  // by symbol name
  std::map<std::string, DwarfTypeLayout> types;    // by DwarfTypeLayout::name
};

// Reads the .debug_info of an ELF file (a relocatable object: libdwarf applies its .rela.debug_*
// sections). A file without DWARF gives has_debug_info = false. Throws Error(kBadRequest) naming
// the file when libdwarf rejects it.
DwarfSummary ReadDwarfSummary(const std::string& path);

}  // namespace hotpatch::elf
