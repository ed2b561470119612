// The small argument parser shared by hotpatch-gen's subcommands: "--name value" options and
// positional words, with usage errors that name the offending argument (exit code 2).
#pragma once

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace hotpatch::patchgen {

class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ParsedArguments {
  std::map<std::string, std::vector<std::string>> options;  // "--target" -> values
  std::vector<std::string> positional;

  // The single value of a required option; throws UsageError naming it when missing.
  const std::string& Required(const std::string& name) const;
  std::optional<std::string> Optional(const std::string& name) const;
  std::vector<std::string> All(const std::string& name) const;
};

// Parses args; `with_value` lists the options that take a value, `flags` those that do not, and
// `with_values` those that take every following word up to the next option ("--orig a.o b.o").
// Unknown options and missing values are UsageErrors.
ParsedArguments ParseArguments(const std::vector<std::string>& args,
                               const std::set<std::string>& with_value,
                               const std::set<std::string>& flags = {},
                               const std::set<std::string>& with_values = {});

}  // namespace hotpatch::patchgen
