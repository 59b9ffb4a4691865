// persistctl's output: one JSON object per line, built from already
// encoded values, so that map values keep the codec's exact JSON form.
#ifndef PERSIST_CLIENTS_CLI_JSON_OUTPUT_H_
#define PERSIST_CLIENTS_CLI_JSON_OUTPUT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace persist::cli {

// {"name":value,...} in the order added.
class JsonObject {
 public:
  JsonObject& String(absl::string_view name, absl::string_view value);
  JsonObject& Bool(absl::string_view name, bool value);
  JsonObject& Int(absl::string_view name, int64_t value);
  // `json` is already a JSON value.
  JsonObject& Raw(absl::string_view name, absl::string_view json);
  std::string Done() const { return out_ + "}"; }

 private:
  JsonObject& Name(absl::string_view name);
  std::string out_ = "{";
};

}  // namespace persist::cli

#endif  // PERSIST_CLIENTS_CLI_JSON_OUTPUT_H_
