#include "command_line.h"

namespace hotpatch::patchgen {

const std::string& ParsedArguments::Required(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end() || it->second.empty()) throw UsageError("missing " + name);
  if (it->second.size() > 1) throw UsageError(name + " given more than once");
  return it->second.front();
}

std::optional<std::string> ParsedArguments::Optional(const std::string& name) const {
  auto it = options.find(name);
  if (it == options.end() || it->second.empty()) return std::nullopt;
  return it->second.back();
}

std::vector<std::string> ParsedArguments::All(const std::string& name) const {
  auto it = options.find(name);
  return it == options.end() ? std::vector<std::string>{} : it->second;
}

ParsedArguments ParseArguments(const std::vector<std::string>& args,
                               const std::set<std::string>& with_value,
                               const std::set<std::string>& flags,
                               const std::set<std::string>& with_values) {
  ParsedArguments parsed;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a.size() > 1 && a[0] == '-') {
      if (with_values.count(a)) {
        const size_t first = i + 1;
        while (i + 1 < args.size() && !(args[i + 1].size() > 1 && args[i + 1][0] == '-')) {
          parsed.options[a].push_back(args[++i]);
        }
        if (i + 1 == first) throw UsageError(a + " needs at least one value");
      } else if (flags.count(a)) {
        parsed.options[a].push_back("");
      } else if (with_value.count(a)) {
        if (i + 1 >= args.size()) throw UsageError(a + " needs a value");
        parsed.options[a].push_back(args[++i]);
      } else {
        throw UsageError("unknown option " + a);
      }
    } else {
      parsed.positional.push_back(a);
    }
  }
  return parsed;
}

}  // namespace hotpatch::patchgen
