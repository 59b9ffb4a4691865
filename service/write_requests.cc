#include "service/write_requests.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/field_mask_util.h"
#include "storage/names.h"

namespace persist::service {

using google::protobuf::Message;
using google::protobuf::util::FieldMaskUtil;

absl::StatusOr<Durability> DurabilityFromProto(v1::Durability durability,
                                               Durability default_durability) {
  switch (durability) {
    case v1::DURABILITY_UNSPECIFIED:
      return default_durability;
    case v1::MEMORY:
      return Durability::kMemory;
    case v1::ASYNC:
      return Durability::kAsync;
    case v1::WRITE:
      return Durability::kWrite;
    case v1::FSYNC:
      return Durability::kFsync;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("unknown durability ", static_cast<int>(durability),
                       "; use MEMORY, ASYNC, WRITE or FSYNC"));
  }
}

Precondition PreconditionFromProto(const v1::Precondition& precondition) {
  switch (precondition.condition_case()) {
    case v1::Precondition::kMustExist:
      if (precondition.must_exist()) return Precondition::MustExist();
      break;
    case v1::Precondition::kMustNotExist:
      if (precondition.must_not_exist()) return Precondition::MustNotExist();
      break;
    case v1::Precondition::kEtag:
      return Precondition::EtagMatches(precondition.etag());
    case v1::Precondition::CONDITION_NOT_SET:
      break;
  }
  return Precondition{};
}

absl::Status CheckUpdateMask(const DynamicMap& map,
                             const google::protobuf::FieldMask& mask) {
  bool valid = !mask.paths().empty();
  for (const std::string& path : mask.paths()) {
    valid = valid && !path.empty() &&
            FieldMaskUtil::GetFieldDescriptors(map.type(), path, nullptr);
  }
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(
      "update_mask \"", FieldMaskUtil::ToString(mask),
      "\" must name one or more fields of ", map.type()->full_name(),
      " by their proto names (for example \"email\" or \"address.city\")"));
}

std::unique_ptr<Message> MergeUpdate(const DynamicMap& map,
                                     const Message* current,
                                     const Message& patch,
                                     const google::protobuf::FieldMask& mask) {
  std::unique_ptr<Message> next = map.NewValue();
  if (current != nullptr) next->CopyFrom(*current);
  FieldMaskUtil::MergeOptions merge;
  merge.set_replace_message_fields(true);
  merge.set_replace_repeated_fields(true);
  FieldMaskUtil::MergeMessageTo(patch, mask, merge, next.get());
  // Unknown fields got past CheckValue only if the store ignores them, and
  // it would drop them: the answer shows what is stored.
  next->DiscardUnknownFields();
  return next;
}

absl::Status UpdateOfMissingKeyError(absl::string_view map,
                                     absl::string_view key) {
  return absl::NotFoundError(
      absl::StrCat("map \"", map, "\" has no key ", QuotedKey(key),
                   " to update; set allow_missing to create it"));
}

}  // namespace persist::service
