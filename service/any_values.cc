#include "service/any_values.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace persist::service {
namespace {

constexpr absl::string_view kTypeUrlPrefix = "type.googleapis.com/";

// The type name of a type URL: everything after the last '/'.
absl::string_view TypeName(absl::string_view type_url) {
  const size_t slash = type_url.rfind('/');
  return slash == absl::string_view::npos ? type_url
                                          : type_url.substr(slash + 1);
}

}  // namespace

absl::StatusOr<std::unique_ptr<google::protobuf::Message>> UnpackValue(
    const DynamicMap& map, absl::string_view key,
    const google::protobuf::Any& any) {
  const std::string& type = map.type()->full_name();
  if (any.type_url().empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "map \"", map.name(), "\" key \"", key,
        "\": the value is empty; send a google.protobuf.Any holding a ", type));
  }
  if (TypeName(any.type_url()) != type) {
    return absl::InvalidArgumentError(absl::StrCat(
        "map \"", map.name(), "\" holds ", type, ", but the value for key \"",
        key, "\" is a ", TypeName(any.type_url()), " (", any.type_url(),
        "); pack a ", type));
  }
  std::unique_ptr<google::protobuf::Message> value = map.NewValue();
  if (!value->ParseFromString(any.value())) {
    return absl::InvalidArgumentError(
        absl::StrCat("map \"", map.name(), "\" key \"", key,
                     "\": the value's bytes do not "
                     "parse as ",
                     type,
                     "; check that client and server use the same "
                     ".proto"));
  }
  return value;
}

size_t PackedValueBytes(const google::protobuf::Message& value) {
  // Each field's tag and length take at most 11 bytes.
  return kTypeUrlPrefix.size() + value.GetDescriptor()->full_name().size() +
         value.ByteSizeLong() + 2 * 11;
}

void PackValue(const google::protobuf::Message& value,
               google::protobuf::Any* any) {
  any->set_type_url(
      absl::StrCat(kTypeUrlPrefix, value.GetDescriptor()->full_name()));
  value.SerializeToString(any->mutable_value());
}

}  // namespace persist::service
