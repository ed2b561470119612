#include "symbol_names.h"

#include <cctype>
#include <vector>

namespace hotpatch::patchgen {
namespace {

bool IsNumber(const std::string& word) {
  if (word.empty()) return false;
  for (char c : word) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::vector<std::string> SplitDots(const std::string& name) {
  std::vector<std::string> words;
  size_t start = 0;
  for (;;) {
    const size_t dot = name.find('.', start);
    words.push_back(name.substr(start, dot == std::string::npos ? std::string::npos : dot - start));
    if (dot == std::string::npos) return words;
    start = dot + 1;
  }
}

bool IsCloneKind(const std::string& word) {
  return word == "constprop" || word == "isra" || word == "part" || word == "lto_priv" ||
         word == "cold";
}

}  // namespace

NormalizedName NormalizeSymbolName(const std::string& name) {
  NormalizedName result;
  // A name starting with '.' (e.g. ".LC0") has no source part to keep.
  if (name.empty() || name[0] == '.') {
    result.key = name;
    return result;
  }
  std::vector<std::string> words = SplitDots(name);
  std::string key = words.front();
  for (size_t i = 1; i < words.size(); ++i) {
    const std::string& word = words[i];
    if (IsNumber(word)) continue;  // the compiler's counter: .constprop.3, counter.1
    if (word == "cold") {
      result.is_cold = true;
    } else if (IsCloneKind(word)) {
      key += "." + word;
    } else {
      key += "." + word;  // part of the source name (C++ names never contain dots; keep anyway)
    }
  }
  result.key = key;
  return result;
}

std::string NormalizeSectionName(const std::string& name) {
  std::vector<std::string> words = SplitDots(name);
  std::string normalized;
  for (size_t i = 0; i < words.size(); ++i) {
    if (i > 0 && IsNumber(words[i])) continue;
    if (i > 0) normalized += ".";
    normalized += words[i];
  }
  return normalized;
}

}  // namespace hotpatch::patchgen
