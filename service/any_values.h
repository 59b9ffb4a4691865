// Values on the wire are google.protobuf.Any; in a map they are messages of
// the map's type. These convert between the two, checking the type.
#ifndef PERSIST_SERVICE_ANY_VALUES_H_
#define PERSIST_SERVICE_ANY_VALUES_H_

#include <cstddef>
#include <memory>

#include "absl/status/statusor.h"
#include "google/protobuf/any.pb.h"
#include "google/protobuf/message.h"
#include "storage/dynamic_map.h"

namespace persist::service {

// A new value of `map`'s type from `any`. InvalidArgument (naming the map,
// the key and both types) if the Any holds another type or its bytes do not
// parse.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> UnpackValue(
    const DynamicMap& map, absl::string_view key,
    const google::protobuf::Any& any);

// At least the bytes of the Any that PackValue makes of `value`.
size_t PackedValueBytes(const google::protobuf::Message& value);

// Packs `value` with the type URL "type.googleapis.com/<full name>".
void PackValue(const google::protobuf::Message& value,
               google::protobuf::Any* any);

}  // namespace persist::service

#endif  // PERSIST_SERVICE_ANY_VALUES_H_
