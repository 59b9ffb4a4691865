// DynamicMap: one map of a store, for values of a message type known at run
// time (a Descriptor). Map<T> (map.h) is the typed view of the same thing.
//
// Values are immutable decoded messages behind std::shared_ptr<const
// Message>: reads hand out the pointer, never decode or copy; writes swap
// it. A value must be exactly of the map's type (same Descriptor) and is
// never modified after it is handed to the map.
//
// Keys: see names.h; an invalid key is InvalidArgument naming the byte, for
// reads and writes alike.
//
// Writes take a WriteOptions: the durability (durability.h) and a
// precondition (write_options.h). Each has a blocking form and a Start form
// that returns at once and runs a callback when the durability is reached.
// A write is applied in memory before it is durable: readers may see it
// while its record is on the way to disk. If the WAL fails meanwhile, the
// write reports the error and the store stops taking writes.
//
// Errors: InvalidArgument (bad key, wrong type, a value with no JSON form or
// with fields its type does not know: see below), FailedPrecondition
// (precondition not met), Aborted (etag mismatch), Unavailable (the store is
// closed, or it stopped taking writes after an I/O error, which the message
// names with its errno).
//
// Unknown fields: a value parsed from the bytes of a newer schema (or with a
// known field number of the wrong wire type) carries fields its type does
// not know. The JSON log cannot hold them, so such a value is refused,
// naming the field's number, unless the store was opened with
// ignore_unknown_fields: then they are discarded before the value is stored
// (and counted in Stats), so that what a read returns is what a restart
// brings back.
//
// Thread-safety: every method may be called concurrently. Update functions
// run with the key's shard locked: they must be quick and must not call the
// store.
//
// Lifetime: owned by its Store; valid until the Store is destroyed.
#ifndef PERSIST_STORAGE_DYNAMIC_MAP_H_
#define PERSIST_STORAGE_DYNAMIC_MAP_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/message.h"
#include "storage/write_options.h"

namespace persist {

class DynamicMap {
 public:
  using Message = google::protobuf::Message;
  using UpdateFunction =
      absl::FunctionRef<UpdateDecision<Message>(const Message* current)>;
  using ScanFunction =
      absl::FunctionRef<bool(absl::string_view key, const Entry<Message>&)>;

  virtual ~DynamicMap() = default;
  DynamicMap(const DynamicMap&) = delete;
  DynamicMap& operator=(const DynamicMap&) = delete;

  virtual const std::string& name() const = 0;
  virtual const google::protobuf::Descriptor* type() const = 0;

  // A new empty message of the map's type, to fill and Set.
  virtual std::unique_ptr<Message> NewValue() const = 0;

  // OK if Set would take `value` for `key` as it is: a valid key, the map's
  // type, a JSON form, and no unknown fields (unless the store ignores
  // them). For values that are not stored whole, such as the patch of a
  // field-mask update, whose unknown fields would otherwise vanish unseen.
  virtual absl::Status CheckValue(absl::string_view key,
                                  const Message& value) const = 0;

  // The key's entry; `value` is null if there is none.
  virtual absl::StatusOr<Entry<Message>> Get(absl::string_view key) const = 0;

  virtual void StartSet(absl::string_view key,
                        std::shared_ptr<const Message> value,
                        const WriteOptions& options, WriteCallback done) = 0;
  absl::StatusOr<WriteResult> Set(absl::string_view key,
                                  std::shared_ptr<const Message> value,
                                  const WriteOptions& options = {});

  // `existed` says whether the key had an entry.
  virtual void StartDelete(absl::string_view key, const WriteOptions& options,
                           WriteCallback done) = 0;
  absl::StatusOr<WriteResult> Delete(absl::string_view key,
                                     const WriteOptions& options = {});

  // Atomic read-modify-write of one key: `fn` sees the current value (null
  // if none) and decides to set, delete or cancel.
  virtual void StartUpdate(absl::string_view key, UpdateFunction fn,
                           const WriteOptions& options,
                           UpdateCallback done) = 0;
  absl::StatusOr<UpdateResult> Update(absl::string_view key, UpdateFunction fn,
                                      const WriteOptions& options = {});

  // go-persist's SetInMemory / UpdateInMemory: durability MEMORY.
  absl::Status SetInMemory(absl::string_view key,
                           std::shared_ptr<const Message> value);
  absl::StatusOr<UpdateResult> UpdateInMemory(absl::string_view key,
                                              UpdateFunction fn);

  // Live keys.
  virtual int64_t Size() const = 0;

  // Calls `fn`, in key order, for the entries whose keys start with
  // `prefix` and sort after `start_after` (bytewise; "" for the first),
  // until it returns false. Costs O(log n) to start and O(1) per entry
  // visited. Safe under concurrent writes: each key is seen at most once,
  // with a value it had during the call; keys written meanwhile may or may
  // not be seen. Runs `fn` without locks held, so it may call the store.
  virtual absl::Status Scan(absl::string_view prefix,
                            absl::string_view start_after,
                            ScanFunction fn) const = 0;

  // Every entry, in key order: Scan("", "", fn).
  absl::Status Range(ScanFunction fn) const { return Scan("", "", fn); }

 protected:
  DynamicMap() = default;
};

}  // namespace persist

#endif  // PERSIST_STORAGE_DYNAMIC_MAP_H_
