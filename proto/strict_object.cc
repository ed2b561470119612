#include "strict_object.h"

#include "base/error.h"

namespace hotpatch::proto {
namespace {

[[noreturn]] void Fail(const std::string& field, const std::string& what) {
  throw Error(ErrorCode::kBadRequest, "field '" + field + "': " + what);
}

}  // namespace

StrictObject::StrictObject(const nlohmann::json& value, std::string path)
    : value_(&value), path_(std::move(path)) {
  if (!value.is_object()) Fail(path_.empty() ? "(message)" : path_, "expected an object");
}

std::string StrictObject::FieldPath(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

bool StrictObject::Has(const std::string& key) const {
  return value_->contains(key);
}

const nlohmann::json& StrictObject::Field(const std::string& key) {
  auto it = value_->find(key);
  if (it == value_->end()) Fail(FieldPath(key), "missing");
  read_.insert(key);
  return *it;
}

std::string StrictObject::String(const std::string& key) {
  const auto& v = Field(key);
  if (!v.is_string()) Fail(FieldPath(key), "expected a string");
  return v.get<std::string>();
}

std::optional<std::string> StrictObject::OptionalString(const std::string& key) {
  if (!Has(key)) return std::nullopt;
  return String(key);
}

bool StrictObject::Bool(const std::string& key) {
  const auto& v = Field(key);
  if (!v.is_boolean()) Fail(FieldPath(key), "expected true or false");
  return v.get<bool>();
}

std::optional<bool> StrictObject::OptionalBool(const std::string& key) {
  if (!Has(key)) return std::nullopt;
  return Bool(key);
}

int64_t StrictObject::Integer(const std::string& key, int64_t min, int64_t max) {
  const auto& v = Field(key);
  // JSON has one number type; nlohmann tells integers from floats, and 1.0 is not a pid.
  if (!v.is_number_integer())
    Fail(FieldPath(key),
         "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  if (v.is_number_unsigned() && v.get<uint64_t>() > static_cast<uint64_t>(max))
    Fail(FieldPath(key), "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  int64_t n = v.get<int64_t>();
  if (n < min || n > max)
    Fail(FieldPath(key), "out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  return n;
}

std::optional<int64_t> StrictObject::OptionalInteger(const std::string& key, int64_t min,
                                                     int64_t max) {
  if (!Has(key)) return std::nullopt;
  return Integer(key, min, max);
}

uint64_t StrictObject::Unsigned(const std::string& key) {
  const auto& v = Field(key);
  if (!v.is_number_unsigned()) Fail(FieldPath(key), "expected a non-negative integer");
  return v.get<uint64_t>();
}

std::vector<std::string> StrictObject::StringArray(const std::string& key) {
  const auto& v = Field(key);
  if (!v.is_array()) Fail(FieldPath(key), "expected an array of strings");
  std::vector<std::string> out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string())
      Fail(FieldPath(key) + "[" + std::to_string(i) + "]", "expected a string");
    out.push_back(v[i].get<std::string>());
  }
  return out;
}

std::vector<int64_t> StrictObject::IntegerArray(const std::string& key, int64_t min, int64_t max) {
  const auto& v = Field(key);
  if (!v.is_array()) Fail(FieldPath(key), "expected an array of integers");
  std::vector<int64_t> out;
  for (size_t i = 0; i < v.size(); ++i) {
    std::string element = FieldPath(key) + "[" + std::to_string(i) + "]";
    if (!v[i].is_number_integer() ||
        (v[i].is_number_unsigned() && v[i].get<uint64_t>() > static_cast<uint64_t>(max)) ||
        v[i].get<int64_t>() < min || v[i].get<int64_t>() > max)
      Fail(element,
           "expected an integer in [" + std::to_string(min) + ", " + std::to_string(max) + "]");
    out.push_back(v[i].get<int64_t>());
  }
  return out;
}

std::vector<StrictObject> StrictObject::ObjectArray(const std::string& key) {
  const auto& v = Field(key);
  if (!v.is_array()) Fail(FieldPath(key), "expected an array of objects");
  std::vector<StrictObject> out;
  for (size_t i = 0; i < v.size(); ++i)
    out.emplace_back(v[i], FieldPath(key) + "[" + std::to_string(i) + "]");
  return out;
}

void StrictObject::Finish() const {
  for (const auto& [key, unused] : value_->items())
    if (!read_.contains(key)) Fail(FieldPath(key), "unknown field");
}

nlohmann::json ParseObjectLine(std::string_view line) {
  nlohmann::json value = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
  if (value.is_discarded()) throw Error(ErrorCode::kBadRequest, "message is not valid JSON");
  if (!value.is_object()) throw Error(ErrorCode::kBadRequest, "message is not a JSON object");
  return value;
}

}  // namespace hotpatch::proto
