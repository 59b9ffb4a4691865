#include "clients/cli/json_output.h"

#include "absl/strings/str_cat.h"
#include "base/json_escape.h"

namespace persist::cli {

JsonObject& JsonObject::Name(absl::string_view name) {
  if (out_.size() > 1) out_ += ",";
  absl::StrAppend(&out_, QuoteJsonString(name), ":");
  return *this;
}

JsonObject& JsonObject::String(absl::string_view name,
                               absl::string_view value) {
  Name(name);
  out_ += QuoteJsonString(value);
  return *this;
}

JsonObject& JsonObject::Bool(absl::string_view name, bool value) {
  Name(name);
  out_ += value ? "true" : "false";
  return *this;
}

JsonObject& JsonObject::Int(absl::string_view name, int64_t value) {
  Name(name);
  absl::StrAppend(&out_, value);
  return *this;
}

JsonObject& JsonObject::Raw(absl::string_view name, absl::string_view json) {
  Name(name);
  out_.append(json.data(), json.size());
  return *this;
}

}  // namespace persist::cli
