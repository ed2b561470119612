// What the patch generator needs from DWARF (libdwarf 20210528, the old API Debian 12 ships):
// for each function, the line it is declared on and the struct/union/class types it can touch
// through its return type, parameters and local variables; for each variable of file or
// namespace scope (definitions and extern declarations), the types it can touch; for each such
// type, its byte size and member offsets. Comparing the layouts between the original and the
// patched object is how the generator refuses a fix that changes a type the running code already
// has instances of.
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

// Functions and variables are keyed by their linkage (mangled) name when DWARF has one, else by
// their source name qualified by namespaces and classes: GCC gives no DW_AT_linkage_name to
// C functions, C++ functions of internal linkage (static, anonymous namespace) and most globals,
// so "(anonymous namespace)::Triple" is what _ZN12_GLOBAL__N_16TripleEi is found under.
struct DwarfFunction {
  std::string name;
  uint64_t decl_line = 0;  // 0 if absent
  // More than one function with code has this key (overloads of internal linkage): used_types
  // holds all of theirs, and decl_line belongs to one of them.
  bool overloaded = false;
  // The prototype as DWARF tells it, "int(const struct account*, int)": callers compiled
  // against the old one pass the old arguments.
  std::string signature;
  std::set<std::string> used_types;  // keys of DwarfSummary::types
};

struct DwarfVariable {
  std::string name;
  std::set<std::string> used_types;  // keys of DwarfSummary::types
};

struct DwarfSummary {
  bool has_debug_info = false;
  std::map<std::string, DwarfFunction> functions;  // see above for the keys
  std::map<std::string, DwarfVariable> variables;  // file and namespace scope
  std::map<std::string, DwarfTypeLayout> types;    // by DwarfTypeLayout::name

  // The function or variable an object's symbol names: by the symbol name itself, without a
  // compiler suffix (foo.constprop.0, count.1), or by the demangled name without parameters
  // and return type. Null when DWARF does not describe it.
  const DwarfFunction* FindFunction(const std::string& symbol_name) const;
  const DwarfVariable* FindVariable(const std::string& symbol_name) const;
};

// A range of addresses of a linked file and the compile unit whose code lies there, known by its
// DW_AT_name: the source path as the compiler was given it ("src/net/util.c"), which tells apart
// two files the STT_FILE symbols both call "util.c".
struct DwarfUnitRange {
  uint64_t start = 0;
  uint64_t end = 0;  // exclusive
  std::string unit_name;
};

// The ranges of .debug_aranges (GCC writes it; without it, or without DWARF, the list is empty).
std::vector<DwarfUnitRange> ReadDwarfUnitRanges(const std::string& path);

// The DW_AT_name of the first compile unit of an object; empty without DWARF.
std::string ReadDwarfUnitName(const std::string& path);

// Reads the .debug_info of an ELF file (a relocatable object: libdwarf applies its .rela.debug_*
// sections). A file without DWARF gives has_debug_info = false. Throws Error(kBadRequest) naming
// the file when libdwarf rejects it.
DwarfSummary ReadDwarfSummary(const std::string& path);

}  // namespace hotpatch::elf
