// DynamicMap: one map of a store, for values of a message type known at run
// time (a Descriptor). Map<T> (map.h) is the typed view of the same thing.
//
// Values are immutable decoded messages behind std::shared_ptr<const
// Message>: reads hand out the pointer, never decode or copy; writes swap
// it. A value must be exactly of the map's type (same Descriptor) and is
// never modified after it is handed to the map.
//
// Keys: see names.h; an invalid key is InvalidArgument naming the byte.
//
// Writes take a WriteOptions: the durability (durability.h) and a
// precondition (write_options.h). Each has a blocking form and a Start form
// that returns at once and runs a callback when the durability is reached.
// A write is applied in memory before it is durable: readers may see it
// while its record is on the way to disk. If the WAL fails meanwhile, the
// write reports the error and the store stops taking writes.
//
// Errors: InvalidArgument (bad key, wrong type, value with no JSON form),
// FailedPrecondition (precondition not met, store closed), Aborted (etag
// mismatch), and the WAL's error once it failed (Unavailable-like codes from
// the file layer: DataLoss, ResourceExhausted, Internal...).
//
// Thread-safety: every method may be called concurrently. Update functions
// run with the key's shard locked: they must be quick and must not call the
// store. Lock order: shard, then the WAL queue.
//
// Lifetime: owned by its Store; valid until the Store is destroyed.
#ifndef PERSIST_STORAGE_DYNAMIC_MAP_H_
#define PERSIST_STORAGE_DYNAMIC_MAP_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "base/mutex.h"
#include "storage/write_options.h"

namespace persist {

struct StoreContext;

class DynamicMap {
 public:
  using Message = google::protobuf::Message;
  using UpdateFunction =
      absl::FunctionRef<UpdateDecision<Message>(const Message* current)>;
  using RangeFunction =
      absl::FunctionRef<bool(absl::string_view key, const Entry<Message>&)>;

  DynamicMap(const DynamicMap&) = delete;
  DynamicMap& operator=(const DynamicMap&) = delete;

  const std::string& name() const { return name_; }
  const google::protobuf::Descriptor* type() const { return type_; }

  // A new empty message of the map's type, to fill and Set.
  std::unique_ptr<Message> NewValue() const;

  // The key's entry; `value` is null if there is none.
  absl::StatusOr<Entry<Message>> Get(absl::string_view key) const;

  absl::StatusOr<WriteResult> Set(absl::string_view key,
                                  std::shared_ptr<const Message> value,
                                  const WriteOptions& options = {});
  void StartSet(absl::string_view key, std::shared_ptr<const Message> value,
                const WriteOptions& options, WriteCallback done);

  // `existed` says whether the key had an entry.
  absl::StatusOr<WriteResult> Delete(absl::string_view key,
                                     const WriteOptions& options = {});
  void StartDelete(absl::string_view key, const WriteOptions& options,
                   WriteCallback done);

  // Atomic read-modify-write of one key: `fn` sees the current value (null
  // if none) and decides to set, delete or cancel.
  absl::StatusOr<UpdateResult> Update(absl::string_view key, UpdateFunction fn,
                                      const WriteOptions& options = {});
  void StartUpdate(absl::string_view key, UpdateFunction fn,
                   const WriteOptions& options, UpdateCallback done);

  // go-persist's SetInMemory / UpdateInMemory: durability MEMORY.
  absl::Status SetInMemory(absl::string_view key,
                           std::shared_ptr<const Message> value);
  absl::StatusOr<UpdateResult> UpdateInMemory(absl::string_view key,
                                              UpdateFunction fn);

  // Live keys.
  int64_t Size() const { return size_.load(std::memory_order_relaxed); }

  // Calls `fn` for every entry until it returns false. Safe under concurrent
  // writes: each key is seen at most once, with a value it had during the
  // call; keys written meanwhile may or may not be seen. Runs `fn` without
  // locks held, so it may call the store.
  absl::Status Range(RangeFunction fn) const;

 private:
  friend class Store;
  friend class WalRecovery;
  friend class Shrinker;

  struct StoredEntry {
    std::shared_ptr<const Message> value;
    uint64_t sequence = 0;
  };
  struct Shard {
    mutable Mutex mu;
    absl::flat_hash_map<std::string, StoredEntry> entries ABSL_GUARDED_BY(mu);
    // ASYNC changes not yet in the WAL: key -> its latest record.
    absl::flat_hash_map<std::string, std::string> dirty ABSL_GUARDED_BY(mu);
  };
  // A write prepared before its shard is locked.
  struct Change {
    std::shared_ptr<const Message> value;  // null: delete
    std::string record;                    // its WAL record
  };

  DynamicMap(StoreContext* context, std::string name,
             const google::protobuf::Descriptor* type,
             const Message* prototype, int shard_count);

  Shard& ShardFor(absl::string_view key) const;
  absl::Status CheckValue(const Message& value) const;
  // Encodes `value` (null: delete) into its WAL record. Done for every
  // durability: it proves the value has a JSON form, and a MEMORY write
  // may have to replace a pending ASYNC record.
  absl::StatusOr<Change> Prepare(absl::string_view key,
                                 std::shared_ptr<const Message> value) const;
  absl::Status CheckPrecondition(const StoredEntry* current,
                                 const Precondition& precondition,
                                 absl::string_view key) const;
  // Applies `change` under its shard's lock and queues its record. For
  // WRITE and FSYNC the record carries the completion `on_durable` makes
  // from the result, and *queued is set; otherwise the caller completes.
  WriteResult Commit(
      Shard& shard, absl::string_view key, Change change,
      Durability durability,
      absl::FunctionRef<absl::AnyInvocable<void(absl::Status)>(
          const WriteResult&)>
          on_durable,
      bool* queued) ABSL_EXCLUSIVE_LOCKS_REQUIRED(shard.mu);
  // The shared body of StartSet and StartDelete (value null: delete).
  void StartWrite(absl::string_view key, std::shared_ptr<const Message> value,
                  const WriteOptions& options, WriteCallback done);

  // Recovery: the key's state as the WAL says (null value: deleted).
  void Recover(absl::string_view key, std::shared_ptr<const Message> value);
  // The flusher: queues every ASYNC change; returns how many.
  int64_t FlushDirty();
  // Shrink: calls `fn` with a snapshot of each shard in turn.
  using SnapshotFunction = absl::FunctionRef<absl::Status(
      const std::vector<std::pair<std::string, std::shared_ptr<const Message>>>&)>;
  absl::Status ForEachShardSnapshot(SnapshotFunction fn) const;

  StoreContext* const context_;
  const std::string name_;
  const google::protobuf::Descriptor* const type_;
  const Message* const prototype_;
  const int shard_shift_;  // shard = hash >> shard_shift_
  const std::unique_ptr<Shard[]> shards_;
  const int shard_count_;
  std::atomic<int64_t> size_{0};
};

}  // namespace persist

#endif  // PERSIST_STORAGE_DYNAMIC_MAP_H_
