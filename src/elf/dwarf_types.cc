#include "elf/dwarf_types.h"

#include <cxxabi.h>
#include <dwarf.h>
#include <fcntl.h>
#include <libdwarf.h>

#include <cstdlib>
#include <memory>
#include <optional>

#include "base/error.h"
#include "base/unique_fd.h"

namespace hotpatch::elf {
namespace {

// Owns a Dwarf_Debug. Individual DIEs and attributes are not freed one by one: dwarf_finish
// releases everything libdwarf allocated for this handle, and a summary of one object is small.
class DwarfHandle {
 public:
  DwarfHandle(int fd, const std::string& path) : path_(path) {
    Dwarf_Error error = nullptr;
    status_ = dwarf_init_b(fd, DW_DLC_READ, DW_GROUPNUMBER_ANY, nullptr, nullptr, &dbg_, &error);
    if (status_ == DW_DLV_ERROR) {
      std::string message = dwarf_errmsg(error);
      throw Error(ErrorCode::kBadRequest, path + ": cannot read DWARF: " + message);
    }
  }
  ~DwarfHandle() {
    if (status_ == DW_DLV_OK) dwarf_finish(dbg_, nullptr);
  }
  DwarfHandle(const DwarfHandle&) = delete;
  DwarfHandle& operator=(const DwarfHandle&) = delete;

  bool has_debug_info() const { return status_ == DW_DLV_OK; }
  Dwarf_Debug get() const { return dbg_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  Dwarf_Debug dbg_ = nullptr;
  int status_ = DW_DLV_NO_ENTRY;
};

class SummaryReader {
 public:
  explicit SummaryReader(const DwarfHandle& dwarf) : dwarf_(dwarf), dbg_(dwarf.get()) {}

  DwarfSummary Read() {
    summary_.has_debug_info = true;
    for (;;) {
      Dwarf_Unsigned next_cu = 0;
      Dwarf_Half cu_type = 0;
      Dwarf_Error error = nullptr;
      const int status =
          dwarf_next_cu_header_d(dbg_, true, nullptr, nullptr, nullptr, nullptr, nullptr, nullptr,
                                 nullptr, nullptr, &next_cu, &cu_type, &error);
      if (status == DW_DLV_NO_ENTRY) break;
      Check(status, error, "compile unit header");
      Dwarf_Die cu = nullptr;
      if (dwarf_siblingof_b(dbg_, nullptr, true, &cu, &error) != DW_DLV_OK) continue;
      ReadUnit(cu);
    }
    return std::move(summary_);
  }

 private:
  void Check(int status, Dwarf_Error error, const std::string& what) const {
    if (status == DW_DLV_ERROR) {
      throw Error(ErrorCode::kBadRequest,
                  dwarf_.path() + ": DWARF " + what + ": " + dwarf_errmsg(error));
    }
  }

  Dwarf_Half Tag(Dwarf_Die die) const {
    Dwarf_Half tag = 0;
    Dwarf_Error error = nullptr;
    Check(dwarf_tag(die, &tag, &error), error, "tag");
    return tag;
  }

  Dwarf_Off Offset(Dwarf_Die die) const {
    Dwarf_Off offset = 0;
    Dwarf_Error error = nullptr;
    Check(dwarf_dieoffset(die, &offset, &error), error, "DIE offset");
    return offset;
  }

  std::optional<Dwarf_Attribute> Attribute(Dwarf_Die die, Dwarf_Half name) const {
    Dwarf_Attribute attribute = nullptr;
    Dwarf_Error error = nullptr;
    const int status = dwarf_attr(die, name, &attribute, &error);
    Check(status, error, "attribute");
    if (status != DW_DLV_OK) return std::nullopt;
    return attribute;
  }

  std::optional<std::string> StringAttribute(Dwarf_Die die, Dwarf_Half name) const {
    const auto attribute = Attribute(die, name);
    if (!attribute) return std::nullopt;
    char* text = nullptr;
    Dwarf_Error error = nullptr;
    if (dwarf_formstring(*attribute, &text, &error) != DW_DLV_OK) return std::nullopt;
    return std::string(text);
  }

  std::optional<uint64_t> UnsignedAttribute(Dwarf_Die die, Dwarf_Half name) const {
    const auto attribute = Attribute(die, name);
    if (!attribute) return std::nullopt;
    Dwarf_Unsigned value = 0;
    Dwarf_Error error = nullptr;
    if (dwarf_formudata(*attribute, &value, &error) != DW_DLV_OK) return std::nullopt;
    return value;
  }

  // The DIE a reference attribute (DW_AT_type, DW_AT_specification, ...) points at.
  std::optional<Dwarf_Die> Referenced(Dwarf_Die die, Dwarf_Half name) const {
    const auto attribute = Attribute(die, name);
    if (!attribute) return std::nullopt;
    Dwarf_Off offset = 0;
    Dwarf_Error error = nullptr;
    if (dwarf_global_formref(*attribute, &offset, &error) != DW_DLV_OK) return std::nullopt;
    Dwarf_Die target = nullptr;
    if (dwarf_offdie_b(dbg_, offset, true, &target, &error) != DW_DLV_OK) return std::nullopt;
    return target;
  }

  std::vector<Dwarf_Die> Children(Dwarf_Die parent) const {
    std::vector<Dwarf_Die> children;
    Dwarf_Die child = nullptr;
    Dwarf_Error error = nullptr;
    if (dwarf_child(parent, &child, &error) != DW_DLV_OK) return children;
    while (child != nullptr) {
      children.push_back(child);
      Dwarf_Die sibling = nullptr;
      if (dwarf_siblingof_b(dbg_, child, true, &sibling, &error) != DW_DLV_OK) break;
      child = sibling;
    }
    return children;
  }

  // Namespaces and classes nest functions and variables in C++. Every DIE met records the scope
  // it lies in, so that a definition outside its class or namespace (DW_AT_specification) is
  // named after its declaration's scope; definitions are read once the whole unit is walked.
  void WalkChildren(Dwarf_Die parent, const std::string& scope) {
    for (Dwarf_Die die : Children(parent)) {
      scope_of_[Offset(die)] = scope;
      const Dwarf_Half tag = Tag(die);
      if (tag == DW_TAG_subprogram) {
        if (!UnsignedAttribute(die, DW_AT_declaration)) functions_in_unit_.push_back(die);
      } else if (tag == DW_TAG_variable) {
        variables_in_unit_.push_back(die);  // extern declarations too: their type is the one used
      } else if (tag == DW_TAG_namespace) {
        const std::string name = StringAttribute(die, DW_AT_name).value_or("(anonymous namespace)");
        WalkChildren(die, scope + name + "::");
      } else if (AggregateKeyword(tag) != nullptr) {
        if (auto name = StringAttribute(die, DW_AT_name)) WalkChildren(die, scope + *name + "::");
      }
    }
  }

  void ReadUnit(Dwarf_Die cu) {
    functions_in_unit_.clear();
    variables_in_unit_.clear();
    WalkChildren(cu, "");
    for (Dwarf_Die die : functions_in_unit_) ReadFunction(die);
    for (Dwarf_Die die : variables_in_unit_) ReadVariable(die);
  }

  bool HasCode(Dwarf_Die die) const {
    return Attribute(die, DW_AT_low_pc).has_value() || Attribute(die, DW_AT_ranges).has_value();
  }

  void ReadFunction(Dwarf_Die die) {
    const auto name = EntityName(die);
    if (!name) return;
    const bool known = summary_.functions.count(*name) != 0;
    DwarfFunction& function = summary_.functions[*name];
    function.name = *name;
    // An abstract instance (DW_AT_inline) and its concrete out-of-line copy share a name; two
    // copies with code are two functions.
    if (HasCode(die)) {
      if (known && function_has_code_.count(*name)) function.overloaded = true;
      function_has_code_.insert(*name);
    }
    visiting_.clear();  // per function: each must list every type it reaches
    if (const auto line = DeclLine(die)) {
      if (function.decl_line == 0 || HasCode(die)) function.decl_line = *line;
    }
    if (function.signature.empty() || HasCode(die)) function.signature = Signature(die);
    if (auto type = TypeOf(die)) CollectType(*type, function.used_types, "");
    CollectScope(die, function);
  }

  // DW_AT_type, also when it is on the DIE this one completes (an out-of-line copy of an inline
  // function, a C++ definition of a declared member).
  std::optional<Dwarf_Die> TypeOf(Dwarf_Die die, int depth = 0) const {
    if (auto type = Referenced(die, DW_AT_type)) return type;
    if (depth > 4) return std::nullopt;
    for (Dwarf_Half via : {DW_AT_abstract_origin, DW_AT_specification}) {
      if (auto origin = Referenced(die, via)) return TypeOf(*origin, depth + 1);
    }
    return std::nullopt;
  }

  std::string Signature(Dwarf_Die die) const {
    // An out-of-line copy's parameters may leave out what the abstract instance says.
    if (auto origin = Referenced(die, DW_AT_abstract_origin)) die = *origin;
    const auto returned = TypeOf(die);
    std::string text = (returned ? TypeName(*returned) : "void") + "(";
    std::string separator;
    for (Dwarf_Die child : Children(die)) {
      const Dwarf_Half tag = Tag(child);
      if (tag == DW_TAG_formal_parameter) {
        const auto type = TypeOf(child);
        text += separator + (type ? TypeName(*type) : "?");
      } else if (tag == DW_TAG_unspecified_parameters) {
        text += separator + "...";
      } else {
        continue;
      }
      separator = ", ";
    }
    return text + ")";
  }

  std::string TypeName(Dwarf_Die type, int depth = 0) const {
    if (depth > 16) return "?";
    const Dwarf_Half tag = Tag(type);
    const auto inner = [&] {
      const auto next = Referenced(type, DW_AT_type);
      return next ? TypeName(*next, depth + 1) : std::string("void");
    };
    switch (tag) {
      case DW_TAG_pointer_type:
        return inner() + "*";
      case DW_TAG_reference_type:
        return inner() + "&";
      case DW_TAG_rvalue_reference_type:
        return inner() + "&&";
      case DW_TAG_const_type:
        return "const " + inner();
      case DW_TAG_volatile_type:
        return "volatile " + inner();
      case DW_TAG_restrict_type:
      case DW_TAG_atomic_type:
        return inner();
      case DW_TAG_array_type:
        return inner() + "[]";
      case DW_TAG_subroutine_type:
        return "function";
      default:
        break;
    }
    const std::string name = StringAttribute(type, DW_AT_name).value_or("<anonymous>");
    if (tag == DW_TAG_enumeration_type) return "enum " + name;
    const char* keyword = AggregateKeyword(tag);
    return keyword != nullptr ? std::string(keyword) + " " + name : name;
  }

  void ReadVariable(Dwarf_Die die) {
    const auto name = EntityName(die);
    if (!name) return;
    DwarfVariable& variable = summary_.variables[*name];
    variable.name = *name;
    visiting_.clear();
    auto type = Referenced(die, DW_AT_type);
    if (!type) {
      if (auto declaration = Referenced(die, DW_AT_specification)) {
        type = Referenced(*declaration, DW_AT_type);
      }
    }
    if (type) CollectType(*type, variable.used_types, "");
  }

  // The key of a function or variable (dwarf_types.h): the linkage name, else the source name
  // qualified by the scope of the DIE that carries it.
  std::optional<std::string> EntityName(Dwarf_Die die) const {
    if (auto linkage = LinkageName(die)) return linkage;
    return QualifiedName(die);
  }

  std::optional<std::string> LinkageName(Dwarf_Die die, int depth = 0) const {
    if (auto linkage = StringAttribute(die, DW_AT_linkage_name)) return linkage;
    if (auto linkage = StringAttribute(die, DW_AT_MIPS_linkage_name)) return linkage;
    if (depth > 4) return std::nullopt;
    for (Dwarf_Half via : {DW_AT_specification, DW_AT_abstract_origin}) {
      if (auto origin = Referenced(die, via)) return LinkageName(*origin, depth + 1);
    }
    return std::nullopt;
  }

  std::optional<std::string> QualifiedName(Dwarf_Die die, int depth = 0) const {
    if (auto name = StringAttribute(die, DW_AT_name)) {
      const auto scope = scope_of_.find(Offset(die));
      return (scope == scope_of_.end() ? std::string() : scope->second) + *name;
    }
    if (depth > 4) return std::nullopt;
    for (Dwarf_Half via : {DW_AT_specification, DW_AT_abstract_origin}) {
      if (auto origin = Referenced(die, via)) return QualifiedName(*origin, depth + 1);
    }
    return std::nullopt;
  }

  std::optional<uint64_t> DeclLine(Dwarf_Die die, int depth = 0) const {
    if (auto line = UnsignedAttribute(die, DW_AT_decl_line)) return line;
    if (depth > 4) return std::nullopt;
    for (Dwarf_Half via : {DW_AT_specification, DW_AT_abstract_origin}) {
      if (auto origin = Referenced(die, via)) return DeclLine(*origin, depth + 1);
    }
    return std::nullopt;
  }

  // Parameters and variables, also inside lexical blocks and inlined callees.
  void CollectScope(Dwarf_Die scope, DwarfFunction& function) {
    for (Dwarf_Die die : Children(scope)) {
      const Dwarf_Half tag = Tag(die);
      if (tag == DW_TAG_formal_parameter || tag == DW_TAG_variable) {
        auto type = Referenced(die, DW_AT_type);
        if (!type) {
          if (auto origin = Referenced(die, DW_AT_abstract_origin)) {
            type = Referenced(*origin, DW_AT_type);
          }
        }
        if (type) CollectType(*type, function.used_types, "");
      } else if (tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine) {
        CollectScope(die, function);
      }
    }
  }

  static const char* AggregateKeyword(Dwarf_Half tag) {
    switch (tag) {
      case DW_TAG_structure_type:
        return "struct";
      case DW_TAG_union_type:
        return "union";
      case DW_TAG_class_type:
        return "class";
      default:
        return nullptr;
    }
  }

  // Follows typedefs, qualifiers, pointers and arrays down to aggregates and records their
  // layouts. `typedef_name` names an anonymous struct after the typedef that introduced it.
  void CollectType(Dwarf_Die type, std::set<std::string>& used_types,
                   const std::string& typedef_name, int depth = 0) {
    if (depth > 64) return;
    const Dwarf_Half tag = Tag(type);
    const char* keyword = AggregateKeyword(tag);
    if (keyword == nullptr) {
      const std::string name =
          tag == DW_TAG_typedef ? StringAttribute(type, DW_AT_name).value_or("") : typedef_name;
      if (auto next = Referenced(type, DW_AT_type)) {
        CollectType(*next, used_types, name, depth + 1);
      }
      return;
    }
    if (UnsignedAttribute(type, DW_AT_declaration)) return;  // incomplete here
    std::string tag_name = StringAttribute(type, DW_AT_name).value_or(typedef_name);
    if (tag_name.empty()) tag_name = "<anonymous>";
    const std::string key = std::string(keyword) + " " + tag_name;
    used_types.insert(key);
    if (!visiting_.insert(Offset(type)).second) return;
    DwarfTypeLayout layout;
    layout.name = key;
    layout.byte_size = UnsignedAttribute(type, DW_AT_byte_size).value_or(0);
    std::vector<Dwarf_Die> member_types;
    for (Dwarf_Die member : Children(type)) {
      const Dwarf_Half member_tag = Tag(member);
      if (member_tag != DW_TAG_member && member_tag != DW_TAG_inheritance) continue;
      if (UnsignedAttribute(member, DW_AT_external)) continue;  // a C++ static data member
      DwarfMember out;
      out.name = member_tag == DW_TAG_inheritance
                     ? "<base>"
                     : StringAttribute(member, DW_AT_name).value_or("<anonymous>");
      out.offset = UnsignedAttribute(member, DW_AT_data_member_location).value_or(0);
      if (auto member_type = Referenced(member, DW_AT_type)) {
        out.byte_size = ByteSize(*member_type);
        member_types.push_back(*member_type);
      }
      layout.members.push_back(std::move(out));
    }
    summary_.types[key] = std::move(layout);
    for (Dwarf_Die member_type : member_types) {
      CollectType(member_type, used_types, "", depth + 1);
    }
  }

  uint64_t ByteSize(Dwarf_Die type, int depth = 0) const {
    if (auto size = UnsignedAttribute(type, DW_AT_byte_size)) return *size;
    if (depth > 16) return 0;
    const Dwarf_Half tag = Tag(type);
    if (tag == DW_TAG_typedef || tag == DW_TAG_const_type || tag == DW_TAG_volatile_type ||
        tag == DW_TAG_atomic_type || tag == DW_TAG_restrict_type) {
      if (auto next = Referenced(type, DW_AT_type)) return ByteSize(*next, depth + 1);
    }
    return 0;
  }

  const DwarfHandle& dwarf_;
  Dwarf_Debug dbg_;
  DwarfSummary summary_;
  std::set<Dwarf_Off> visiting_;               // aggregates already walked for the current function
  std::map<Dwarf_Off, std::string> scope_of_;  // "ns::Class::" for the DIEs of this file
  std::vector<Dwarf_Die> functions_in_unit_, variables_in_unit_;
  std::set<std::string> function_has_code_;
};

// "int (anonymous namespace)::Scale<3>(int) const" -> "(anonymous namespace)::Scale<3>": the
// parameter list, qualifiers after it and a template's return type go; what is left is how
// DWARF names the function in its scopes. Empty when the text is not of that shape.
std::string WithoutSignature(const std::string& demangled) {
  std::string text = demangled;
  for (bool stripped = true; stripped;) {
    stripped = false;
    for (const std::string qualifier : {" const", " volatile", " &&", " &"}) {
      if (text.ends_with(qualifier)) {
        text.resize(text.size() - qualifier.size());
        stripped = true;
      }
    }
  }
  // A variable ("(anonymous namespace)::limit") has no parameter list to strip.
  if (text.empty() || text.back() != ')') return demangled;
  int depth = 0;
  size_t open = std::string::npos;
  for (size_t i = text.size(); i-- > 0;) {
    if (text[i] == ')') ++depth;
    if (text[i] == '(' && --depth == 0) {
      open = i;
      break;
    }
  }
  if (open == std::string::npos || open == 0) return "";
  std::string name = text.substr(0, open);
  // A return type is separated from the name by a space outside <>, () and [].
  depth = 0;
  for (size_t i = name.size(); i-- > 0;) {
    const char c = name[i];
    if (c == '>' || c == ')' || c == ']') ++depth;
    if (c == '<' || c == '(' || c == '[') --depth;
    if (c == ' ' && depth == 0) return name.substr(i + 1);
  }
  return name;
}

std::string Demangled(const std::string& symbol_name) {
  int status = 0;
  std::unique_ptr<char, decltype(&std::free)> text(
      abi::__cxa_demangle(symbol_name.c_str(), nullptr, nullptr, &status), &std::free);
  return status == 0 && text ? std::string(text.get()) : std::string();
}

// The keys a symbol may be found under, most precise first (dwarf_types.h).
std::vector<std::string> CandidateKeys(const std::string& symbol_name) {
  std::vector<std::string> keys = {symbol_name};
  // Mangled names have no dots: what follows one is the compiler's (.constprop.0, .1, .cold).
  const std::string base = symbol_name.substr(0, symbol_name.find('.'));
  if (base != symbol_name && !base.empty()) keys.push_back(base);
  if (base.starts_with("_Z")) {
    const std::string source = WithoutSignature(Demangled(base));
    if (!source.empty()) keys.push_back(source);
  }
  return keys;
}

template <typename Map>
const typename Map::mapped_type* FindByKeys(const Map& map, const std::string& symbol_name) {
  for (const std::string& key : CandidateKeys(symbol_name)) {
    const auto found = map.find(key);
    if (found != map.end()) return &found->second;
  }
  return nullptr;
}
std::string UnitName(Dwarf_Die cu) {
  Dwarf_Attribute attribute = nullptr;
  Dwarf_Error error = nullptr;
  if (dwarf_attr(cu, DW_AT_name, &attribute, &error) != DW_DLV_OK) return "";
  char* text = nullptr;
  if (dwarf_formstring(attribute, &text, &error) != DW_DLV_OK) return "";
  return text;
}

}  // namespace

std::vector<DwarfUnitRange> ReadDwarfUnitRanges(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw ErrnoError("open " + path);
  DwarfHandle dwarf(fd.get(), path);
  std::vector<DwarfUnitRange> ranges;
  if (!dwarf.has_debug_info()) return ranges;
  Dwarf_Arange* aranges = nullptr;
  Dwarf_Signed count = 0;
  Dwarf_Error error = nullptr;
  const int status = dwarf_get_aranges(dwarf.get(), &aranges, &count, &error);
  if (status == DW_DLV_ERROR) {
    throw Error(ErrorCode::kBadRequest,
                path + ": DWARF .debug_aranges: " + std::string(dwarf_errmsg(error)));
  }
  if (status != DW_DLV_OK) return ranges;
  std::map<Dwarf_Off, std::string> unit_names;  // by CU DIE offset
  for (Dwarf_Signed i = 0; i < count; ++i) {
    Dwarf_Unsigned segment = 0, segment_size = 0, length = 0;
    Dwarf_Addr start = 0;
    Dwarf_Off cu_offset = 0;
    if (dwarf_get_arange_info_b(aranges[i], &segment, &segment_size, &start, &length, &cu_offset,
                                &error) != DW_DLV_OK ||
        length == 0) {
      continue;
    }
    auto name = unit_names.find(cu_offset);
    if (name == unit_names.end()) {
      Dwarf_Die cu = nullptr;
      std::string unit;
      if (dwarf_offdie_b(dwarf.get(), cu_offset, true, &cu, &error) == DW_DLV_OK) {
        unit = UnitName(cu);
      }
      name = unit_names.emplace(cu_offset, unit).first;
    }
    ranges.push_back({start, start + length, name->second});
  }
  return ranges;
}

std::string ReadDwarfUnitName(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw ErrnoError("open " + path);
  DwarfHandle dwarf(fd.get(), path);
  if (!dwarf.has_debug_info()) return "";
  Dwarf_Unsigned next_cu = 0;
  Dwarf_Half cu_type = 0;
  Dwarf_Error error = nullptr;
  if (dwarf_next_cu_header_d(dwarf.get(), true, nullptr, nullptr, nullptr, nullptr, nullptr,
                             nullptr, nullptr, nullptr, &next_cu, &cu_type, &error) != DW_DLV_OK) {
    return "";
  }
  Dwarf_Die cu = nullptr;
  if (dwarf_siblingof_b(dwarf.get(), nullptr, true, &cu, &error) != DW_DLV_OK) return "";
  return UnitName(cu);
}

DwarfSummary ReadDwarfSummary(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) throw ErrnoError("open " + path);
  DwarfHandle dwarf(fd.get(), path);
  if (!dwarf.has_debug_info()) return {};
  return SummaryReader(dwarf).Read();
}

const DwarfFunction* DwarfSummary::FindFunction(const std::string& symbol_name) const {
  return FindByKeys(functions, symbol_name);
}

const DwarfVariable* DwarfSummary::FindVariable(const std::string& symbol_name) const {
  return FindByKeys(variables, symbol_name);
}

}  // namespace hotpatch::elf
