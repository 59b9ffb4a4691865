// Atomic batches: Set, Delete and Update operations over any maps of one
// store, applied all or none (DESIGN.md sections 3 and 5).
//
//   std::vector<persist::BatchOperation> operations;
//   operations.push_back(persist::BatchOperation::Set(
//       users, "alice", alice, persist::Precondition::MustNotExist()));
//   operations.push_back(persist::BatchOperation::Delete(users, "bob"));
//   absl::StatusOr<persist::BatchResult> done =
//       store->Write(std::move(operations), persist::Durability::kFsync);
//
// Either every precondition holds and every operation applies, or nothing
// changes and the error names the first operation that failed
// ("operations[3]: ..." with the operation's own error: FailedPrecondition
// or Aborted for a precondition, InvalidArgument for a bad key or value).
//
// Visibility: the operations become visible together. Every key of the
// batch is locked while it is applied, so a Get of any of them sees the
// batch entirely or not at all, and they take consecutive revisions: a
// reader of changes (Watch) gets them in one piece.
//
// Durability: WRITE or FSYNC. In the WAL a batch is one frame ("B <count>"
// then its records, wal_format.h) written by one write(2), and recovery
// applies a frame whole or not at all. MEMORY and ASYNC changes reach the
// WAL key by key, later, which a crash could cut in the middle: they are
// refused (InvalidArgument).
//
// A key may appear once per batch: a second operation of the same key is
// InvalidArgument (as etcd refuses a Txn that puts one key twice), since
// its meaning (the first's result or the key's state before the batch?)
// would be a guess.
#ifndef PERSIST_STORAGE_BATCH_H_
#define PERSIST_STORAGE_BATCH_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"
#include "storage/dynamic_map.h"
#include "storage/write_options.h"

namespace persist {

// The most operations one batch may hold: the largest batch header the data
// file's readers accept (wal_format.h).
inline constexpr int64_t kMaxBatchOperations = int64_t{1} << 20;

struct BatchOperation {
  using Message = google::protobuf::Message;
  // Sees the key's value before the batch (null: none) and decides, as
  // DynamicMap::Update's function does, or refuses the whole batch with an
  // error (which the batch's error then carries). It runs with the batch's
  // keys locked: it must be quick and must not call the store.
  using UpdateFunction = std::function<absl::StatusOr<UpdateDecision<Message>>(
      const Message* current)>;

  enum class Kind { kSet, kDelete, kUpdate };
  Kind kind = Kind::kSet;
  DynamicMap* map = nullptr;  // a map of the store the batch is written to
  std::string key;
  std::shared_ptr<const Message> value;  // kSet
  UpdateFunction update;                 // kUpdate
  Precondition precondition;
  // The expiry of the value a kSet, or a kUpdate that sets, writes: as
  // WriteOptions::expires; keep_expiry as WriteOptions's, for a kUpdate.
  absl::Time expires = absl::InfiniteFuture();
  bool keep_expiry = false;

  static BatchOperation Set(DynamicMap* map, std::string key,
                            std::shared_ptr<const Message> value,
                            Precondition precondition = {}) {
    return {Kind::kSet,
            map,
            std::move(key),
            std::move(value),
            nullptr,
            std::move(precondition),
            absl::InfiniteFuture(),
            false};
  }
  static BatchOperation Delete(DynamicMap* map, std::string key,
                               Precondition precondition = {}) {
    return {Kind::kDelete,
            map,
            std::move(key),
            nullptr,
            nullptr,
            std::move(precondition),
            absl::InfiniteFuture(),
            false};
  }
  static BatchOperation Update(DynamicMap* map, std::string key,
                               UpdateFunction update,
                               Precondition precondition = {}) {
    return {Kind::kUpdate,          map,
            std::move(key),         nullptr,
            std::move(update),      std::move(precondition),
            absl::InfiniteFuture(), false};
  }
};

struct BatchResult {
  // One per operation, in order: what it did to its key (a Set is kSet, a
  // Delete kDeleted whether or not the key existed).
  std::vector<UpdateResult> results;
  // The last revision the batch took; the store's revision when it was
  // decided if it changed nothing (deletes of missing keys, cancelled
  // updates).
  uint64_t revision = 0;
};

// Runs exactly once, as WriteCallback does (write_options.h).
using BatchCallback = absl::AnyInvocable<void(absl::StatusOr<BatchResult>)>;

}  // namespace persist

#endif  // PERSIST_STORAGE_BATCH_H_
