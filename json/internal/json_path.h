// JsonPath: where in a message the codec is, for error messages (internal).
//
// Each level of the walk keeps one JsonPath on its stack, linked to its
// parent, so that nothing is built or allocated unless an error is reported.
#ifndef PERSIST_JSON_INTERNAL_JSON_PATH_H_
#define PERSIST_JSON_INTERNAL_JSON_PATH_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace persist {

class JsonPath {
 public:
  static JsonPath Root() { return JsonPath(nullptr, kRoot, {}, 0); }
  JsonPath Field(absl::string_view json_name) const {
    return JsonPath(this, kField, json_name, 0);
  }
  JsonPath Index(size_t index) const {
    return JsonPath(this, kIndex, {}, index);
  }
  JsonPath MapKey(absl::string_view key) const {
    return JsonPath(this, kMapKey, key, 0);
  }

  // For example `address.zip`, `tags[2]`, `labels["k"].name`; empty at the
  // root.
  std::string ToString() const;

  // InvalidArgument: `field "<path>": <message>`, or just `<message>` at the
  // root.
  absl::Status Error(absl::string_view message) const;

 private:
  enum Kind { kRoot, kField, kIndex, kMapKey };
  JsonPath(const JsonPath* parent, Kind kind, absl::string_view name,
           size_t index)
      : parent_(parent), kind_(kind), name_(name), index_(index) {}
  void AppendTo(std::string* out) const;

  const JsonPath* parent_;
  Kind kind_;
  absl::string_view name_;
  size_t index_;
};

}  // namespace persist

#endif  // PERSIST_JSON_INTERNAL_JSON_PATH_H_
