// Expiry (TTL) as the API gives it, in the engine's terms (storage/expiry.h):
// a request's ttl or expire_time, and an entry's expire_time.
#ifndef PERSIST_SERVICE_EXPIRY_PROTO_H_
#define PERSIST_SERVICE_EXPIRY_PROTO_H_

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/duration.pb.h"
#include "google/protobuf/timestamp.pb.h"
#include "persist/v1/persist.pb.h"
#include "storage/write_options.h"

namespace persist::service {

// Sets options->expires from a Set's ttl or expire_time, as of `now`; with
// neither, the value never expires. InvalidArgument for a ttl that is not
// positive or a time out of range.
absl::Status ExpiryFromProto(const v1::SetRequest& set, absl::Time now,
                             WriteOptions* options);
// The same for an Update, which with neither keeps the key's expiry.
absl::Status ExpiryFromProto(const v1::UpdateRequest& update, absl::Time now,
                             WriteOptions* options);

// Sets `*time` to `expires`, a finite time.
void ExpiryToProto(absl::Time expires, google::protobuf::Timestamp* time);
// Sets the expire_time of `proto` (an Entry, a GetResponse, a WatchEvent)
// to `expires`, unless it is InfiniteFuture: then the field stays unset.
template <typename Proto>
void SetExpireTime(absl::Time expires, Proto* proto) {
  if (expires != absl::InfiniteFuture()) {
    ExpiryToProto(expires, proto->mutable_expire_time());
  }
}

}  // namespace persist::service

#endif  // PERSIST_SERVICE_EXPIRY_PROTO_H_
