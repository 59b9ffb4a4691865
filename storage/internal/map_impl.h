// MapImpl: DynamicMap as the store builds it (the contract is in
// dynamic_map.h). It checks keys and values, encodes each value to its WAL
// record before the key is locked, checks preconditions, and leaves the rest
// to its ShardedMap's one write path.
//
// Thread-safety: as DynamicMap. The codec, the WAL queue and the clock must
// outlive the map.
#ifndef PERSIST_STORAGE_INTERNAL_MAP_IMPL_H_
#define PERSIST_STORAGE_INTERNAL_MAP_IMPL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "json/json_codec.h"
#include "storage/batch.h"
#include "storage/dynamic_map.h"
#include "storage/internal/group_commit_queue.h"
#include "storage/internal/revision_clock.h"
#include "storage/internal/sharded_map.h"

namespace persist {

class MapImpl final : public DynamicMap {
 public:
  // `prototype` is the map's type's message class (generated, or from the
  // store's DynamicMessageFactory); `entries` already holds what recovery
  // found.
  MapImpl(const google::protobuf::Descriptor* type, const Message* prototype,
          std::unique_ptr<ShardedMap> entries, const JsonCodec& codec,
          GroupCommitQueue& wal, const RevisionClock& clock);

  const std::string& name() const override { return entries_->name(); }
  const google::protobuf::Descriptor* type() const override { return type_; }
  std::unique_ptr<Message> NewValue() const override;
  absl::Status CheckValue(absl::string_view key,
                          const Message& value) const override;
  absl::StatusOr<Entry<Message>> Get(absl::string_view key) const override;
  void StartSet(absl::string_view key, std::shared_ptr<const Message> value,
                const WriteOptions& options, WriteCallback done) override;
  void StartDelete(absl::string_view key, const WriteOptions& options,
                   WriteCallback done) override;
  void StartUpdate(absl::string_view key, UpdateFunction fn,
                   const WriteOptions& options, UpdateCallback done) override;
  int64_t Size() const override { return entries_->size(); }
  absl::Status Scan(absl::string_view prefix, absl::string_view start_after,
                    ScanFunction fn) const override;

  // For the store's batches (batch.h). PrepareBatch checks an operation
  // and encodes a Set's value before any key is locked; DecideBatch, with
  // the key locked, checks its precondition and runs an Update's function.
  // `change` holds what the operation does meanwhile.
  absl::Status PrepareBatch(const BatchOperation& operation,
                            ShardedMap::Change* change) const;
  absl::StatusOr<ShardedMap::Change*> DecideBatch(
      const ShardedMap::Entry* current, const BatchOperation& operation,
      ShardedMap::Change* change) const;

  // For the store: flushing, Shrink, Close and Stats.
  ShardedMap& entries() const { return *entries_; }
  // Unknown fields discarded from values written (ignore_unknown_fields).
  int64_t ignored_unknown_fields() const {
    return ignored_unknown_fields_.load(std::memory_order_relaxed);
  }

 private:
  using Change = ShardedMap::Change;

  absl::Status CheckKey(absl::string_view key) const;
  absl::Status CheckType(const Message& value) const;
  // Appends `value`'s JSON form to `*json`; InvalidArgument naming the map
  // and key if it has none.
  absl::Status Encode(absl::string_view key, const Message& value,
                      std::string* json, JsonEncodeStats* stats) const;
  // When a set's value expires, and whether its records go into a batch's
  // frame (else a set with an expiry gets a frame of its own).
  struct ExpiryOf {
    absl::Time expires = absl::InfiniteFuture();
    bool in_batch = false;
  };
  // The change that writes `value` (null: deletes) and its WAL records.
  // Encoding is done for every durability: it proves the value has a JSON
  // form, and a MEMORY write may have to replace a pending ASYNC record.
  absl::StatusOr<Change> Prepare(absl::string_view key,
                                 std::shared_ptr<const Message> value,
                                 const ExpiryOf& expiry) const;
  absl::Status CheckPrecondition(const ShardedMap::Entry* current,
                                 const Precondition& precondition,
                                 absl::string_view key) const;
  // An update's decision with the key locked: its precondition, then `fn`'s
  // choice, prepared in `*change`.
  absl::StatusOr<Change*> DecideUpdate(const ShardedMap::Entry* current,
                                       absl::string_view key, UpdateFunction fn,
                                       const WriteOptions& options,
                                       Change* change) const;
  // Prepares what an update function decided for `key` in `*change`.
  absl::StatusOr<Change*> PrepareDecision(
      absl::string_view key, const UpdateDecision<Message>& decision,
      const ExpiryOf& expiry, Change* change) const;
  // The shared body of StartSet and StartDelete (value null: delete).
  void StartWrite(absl::string_view key, std::shared_ptr<const Message> value,
                  const WriteOptions& options, WriteCallback done);

  const google::protobuf::Descriptor* const type_;
  const Message* const prototype_;
  const std::unique_ptr<ShardedMap> entries_;
  const JsonCodec& codec_;
  GroupCommitQueue& wal_;
  const RevisionClock& clock_;
  mutable std::atomic<int64_t> ignored_unknown_fields_{0};
};

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_MAP_IMPL_H_
