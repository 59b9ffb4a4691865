#include "json/internal/json_path.h"

#include "absl/strings/str_cat.h"

namespace persist {

void JsonPath::AppendTo(std::string* out) const {
  if (parent_ != nullptr) parent_->AppendTo(out);
  switch (kind_) {
    case kRoot:
      break;
    case kField:
      if (!out->empty()) out->push_back('.');
      out->append(name_.data(), name_.size());
      break;
    case kIndex:
      absl::StrAppend(out, "[", index_, "]");
      break;
    case kMapKey:
      absl::StrAppend(out, "[\"", name_, "\"]");
      break;
  }
}

std::string JsonPath::ToString() const {
  std::string out;
  AppendTo(&out);
  return out;
}

absl::Status JsonPath::Error(absl::string_view message) const {
  std::string path = ToString();
  if (path.empty()) return absl::InvalidArgumentError(message);
  return absl::InvalidArgumentError(
      absl::StrCat("field \"", path, "\": ", message));
}

}  // namespace persist
