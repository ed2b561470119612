// Strict reading of one JSON object: every field is looked up by name with its expected type,
// and Finish() refuses any field nobody asked for. Errors are Error(kBadRequest) with the field's
// path ("processes[2].patches[0].pid"), because a client author needs to know which key is wrong.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace hotpatch::proto {

class StrictObject {
 public:
  // `path` names the object in messages ("" for the top level).
  StrictObject(const nlohmann::json& value, std::string path);

  bool Has(const std::string& key) const;
  std::string String(const std::string& key);
  std::optional<std::string> OptionalString(const std::string& key);
  bool Bool(const std::string& key);
  std::optional<bool> OptionalBool(const std::string& key);
  int64_t Integer(const std::string& key, int64_t min, int64_t max);
  std::optional<int64_t> OptionalInteger(const std::string& key, int64_t min, int64_t max);
  uint64_t Unsigned(const std::string& key);
  std::vector<std::string> StringArray(const std::string& key);
  std::vector<int64_t> IntegerArray(const std::string& key, int64_t min, int64_t max);
  // The elements of an array of objects, each with its own path ("patches[3]").
  std::vector<StrictObject> ObjectArray(const std::string& key);

  // Throws naming the first field that was never read.
  void Finish() const;

  // "<path>.<key>" or "<key>".
  std::string FieldPath(const std::string& key) const;

 private:
  const nlohmann::json& Field(const std::string& key);

  const nlohmann::json* value_;
  std::string path_;
  std::set<std::string> read_;
};

// Parses one line as a JSON object; throws Error(kBadRequest) for invalid JSON or a non-object.
nlohmann::json ParseObjectLine(std::string_view line);

}  // namespace hotpatch::proto
