// What the write RPCs ask for, in the engine's terms: their durability,
// their precondition, and the field-mask merge of an Update (AIP-134).
// Shared by Set, Delete and Update and by the operations of Write.
#ifndef PERSIST_SERVICE_WRITE_REQUESTS_H_
#define PERSIST_SERVICE_WRITE_REQUESTS_H_

#include <memory>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/field_mask.pb.h"
#include "google/protobuf/message.h"
#include "persist/v1/persist.pb.h"
#include "storage/durability.h"
#include "storage/dynamic_map.h"
#include "storage/write_options.h"

namespace persist::service {

// `durability` as the engine takes it; unspecified is `default_durability`.
absl::StatusOr<Durability> DurabilityFromProto(v1::Durability durability,
                                               Durability default_durability);

Precondition PreconditionFromProto(const v1::Precondition& precondition);

// OK if `mask` names one or more fields of the map's type by their proto
// names, none empty.
absl::Status CheckUpdateMask(const DynamicMap& map,
                             const google::protobuf::FieldMask& mask);

// The value an Update stores: `current` (null: none yet) with the fields
// that `mask` names replaced by `patch`'s, repeated and message fields as a
// whole.
std::unique_ptr<google::protobuf::Message> MergeUpdate(
    const DynamicMap& map, const google::protobuf::Message* current,
    const google::protobuf::Message& patch,
    const google::protobuf::FieldMask& mask);

// What an Update of a missing key without allow_missing answers.
absl::Status UpdateOfMissingKeyError(absl::string_view map,
                                     absl::string_view key);

}  // namespace persist::service

#endif  // PERSIST_SERVICE_WRITE_REQUESTS_H_
