// An atomic batch of writes for Client::Write (the Write RPC, DESIGN.md
// section 6): sets, deletes and updates over any maps of one persistd, each
// with an optional precondition. Either all of them apply, visible
// together, or none does and the error names the operation that failed
// ("operations[i]: ...").
//
//   persist::client::Batch batch;
//   batch.Set(users, "alice", alice, persist::client::MustNotExist())
//       .WithTtl(absl::Hours(24))  // alice expires in a day
//       .Delete(users, "bob")
//       .Update(users, "carol", patch, {"age"}, /*allow_missing=*/true);
//   absl::StatusOr<persist::client::BatchResult> done =
//       client.Write(batch, {.durability = persist::v1::FSYNC});
//
// (tests/headers compiles this example.) users is a TypedMap; a batch may
// hold operations of maps of different types.
//
// A batch takes WRITE or FSYNC (unspecified: the server's default when it
// is one of them, else WRITE), at most the server's
// limits.maxBatchOperations operations, and each key once.
#ifndef PERSIST_CLIENTS_CPP_WRITE_BATCH_H_
#define PERSIST_CLIENTS_CPP_WRITE_BATCH_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "clients/cpp/persist_client.h"
#include "google/protobuf/any.pb.h"
#include "persist/v1/persist.pb.h"

namespace persist::client {

// Preconditions for one operation of a batch.
inline v1::Precondition MustExist() {
  v1::Precondition precondition;
  precondition.set_must_exist(true);
  return precondition;
}
inline v1::Precondition MustNotExist() {
  v1::Precondition precondition;
  precondition.set_must_not_exist(true);
  return precondition;
}
inline v1::Precondition EtagIs(const std::string& etag) {
  v1::Precondition precondition;
  precondition.set_etag(etag);
  return precondition;
}

class Batch {
 public:
  template <typename T>
  Batch& Set(const TypedMap<T>& map, const std::string& key, const T& value,
             const v1::Precondition& precondition = {}) {
    v1::SetRequest* set = request_.add_operations()->mutable_set();
    set->set_map(map.name());
    set->set_key(key);
    set->mutable_value()->PackFrom(value);
    *set->mutable_precondition() = precondition;
    return *this;
  }

  template <typename T>
  Batch& Delete(const TypedMap<T>& map, const std::string& key,
                const v1::Precondition& precondition = {}) {
    v1::DeleteRequest* del = request_.add_operations()->mutable_delete_();
    del->set_map(map.name());
    del->set_key(key);
    *del->mutable_precondition() = precondition;
    return *this;
  }

  // As TypedMap::Update: the fields named by `paths` take `patch`'s. Sees
  // the entry as it was before the batch.
  template <typename T>
  Batch& Update(const TypedMap<T>& map, const std::string& key, const T& patch,
                const std::vector<std::string>& paths,
                bool allow_missing = false,
                const v1::Precondition& precondition = {}) {
    v1::UpdateRequest* update = request_.add_operations()->mutable_update();
    update->set_map(map.name());
    update->set_key(key);
    update->mutable_value()->PackFrom(patch);
    for (const std::string& path : paths) {
      update->mutable_update_mask()->add_paths(path);
    }
    update->set_allow_missing(allow_missing);
    *update->mutable_precondition() = precondition;
    return *this;
  }

  // Gives the last operation added, a Set or an Update, a time to live
  // (as CallOptions::ttl).
  Batch& WithTtl(absl::Duration ttl) {
    if (request_.operations().empty()) return *this;
    v1::WriteOperation* last =
        request_.mutable_operations(request_.operations_size() - 1);
    if (last->has_set()) SetTtl(ttl, last->mutable_set());
    if (last->has_update()) SetTtl(ttl, last->mutable_update());
    return *this;
  }

  size_t size() const { return request_.operations_size(); }
  // The request Client::Write sends (its durability aside).
  const v1::WriteRequest& request() const { return request_; }

 private:
  v1::WriteRequest request_;
};

struct BatchResult {
  // One per operation, in order: etag (of a set or an update; empty after a
  // delete), existed, and the revision the operation's change took (a
  // delete of a missing key: the batch's). `revision` is the last revision
  // the batch took.
  std::vector<WriteResult> results;
  int64_t revision = 0;
  std::string epoch;
  // The value each Update stored (empty for the other operations).
  std::vector<google::protobuf::Any> updated;

  // Operation `index`'s stored value, as a T: FailedPrecondition if it was
  // no update of a map of T.
  template <typename T>
  absl::StatusOr<T> Updated(size_t index) const {
    T value;
    if (index >= updated.size() || !updated[index].UnpackTo(&value)) {
      return absl::FailedPreconditionError(
          absl::StrCat("operation ", index, " of the batch stored no ",
                       T::descriptor()->full_name(),
                       "; ask for the type of an update's map"));
    }
    return value;
  }
};

// `response`, the answer to a Write, as a BatchResult (for callers that
// build their WriteRequest themselves, as persistctl does).
BatchResult ReadBatchResult(v1::WriteResponse response);

}  // namespace persist::client

#endif  // PERSIST_CLIENTS_CPP_WRITE_BATCH_H_
