// Store: one WAL file holding any number of typed maps (DESIGN.md 2, 3, 5).
//
//   persist::StoreOptions options;
//   options.path = "data.wal";
//   absl::StatusOr<std::unique_ptr<persist::Store>> store =
//       persist::Store::Open(options);                    // recovers
//   if (!store.ok()) return;                             // its status says why
//   auto users = (*store)->DeclareMap<example::v1::User>("users");
//   example::v1::User alice;
//   alice.set_name("Alice");
//   absl::StatusOr<persist::WriteResult> set =
//       users->Set("alice", alice, {.durability =
//       persist::Durability::kFsync});
//
// (tests/headers compiles the examples of the public headers.)
//
// Open creates the file with its header or recovers it: a torn tail is cut
// and logged, damage before it refuses to open (DataLoss naming the line),
// a file that is not a WAL is refused (FailedPrecondition) and never
// rewritten. Records of maps not declared are kept as orphans and adopted
// when the map is declared.
//
// Background work: a flusher writes ASYNC changes and fsyncs every
// sync_interval; auto-shrink rewrites the file when it holds too many dead
// records. Close (or the destructor) flushes everything and fsyncs.
//
// Failure: once a write or fsync of the WAL fails, every write fails with
// Unavailable (naming the I/O error and its errno) and reads go on;
// Health() and Stats() report it. Reopen to recover. A closed store answers
// Unavailable too.
//
// Thread-safety: every method may be called concurrently, except that
// nothing may be called during or after destruction.
#ifndef PERSIST_STORAGE_STORE_H_
#define PERSIST_STORAGE_STORE_H_

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "base/histogram.h"
#include "google/protobuf/descriptor.h"
#include "storage/batch.h"
#include "storage/changes.h"
#include "storage/durability.h"
#include "storage/dynamic_map.h"
#include "storage/map.h"
#include "storage/store_options.h"
#include "storage/wal_snapshot.h"

namespace persist {

struct MapStats {
  std::string name;
  std::string type;  // full message type name
  int64_t live_keys = 0;
  int64_t expiring_keys = 0;  // of live_keys, those with an expiry
  uint64_t expirations = 0;   // entries deleted by expiry since open
};

struct StoreStats {
  std::vector<MapStats> maps;  // by name
  int64_t live_keys = 0;       // in all maps
  int64_t expiring_keys = 0;   // in all maps, as MapStats's
  uint64_t expirations = 0;    // in all maps, as MapStats's
  int64_t orphan_keys = 0;     // live keys of maps not declared
  int64_t orphan_maps = 0;
  uint64_t wal_records = 0;  // records in the file (live and dead)
  uint64_t file_bytes = 0;
  uint64_t wal_batches = 0;         // writes since open
  uint64_t wal_syncs = 0;           // fdatasyncs since open
  uint64_t wal_appended_bytes = 0;  // written since open
  // The last commit log entry the file holds (its last commit record,
  // DESIGN.md section 9); 0 if none, as in a store of its own.
  uint64_t commit_seq = 0;
  HistogramSnapshot wal_batch_records;  // records per write
  HistogramSnapshot wal_sync_seconds;   // fdatasync latency
  // Changes made since open, indexed by Durability.
  std::array<uint64_t, kDurabilityCount> writes{};
  uint64_t shrinks = 0;          // completed since open
  uint64_t shrink_failures = 0;  // since open
  HistogramSnapshot shrink_seconds;
  absl::Duration open_duration;  // how long Open took: read, scan, decode
  // What opening found: torn tail bytes cut, damaged records skipped under
  // skip_corrupt; unknown fields skipped under ignore_unknown_fields, in
  // the file and in values written since.
  uint64_t torn_tail_bytes = 0;
  int64_t skipped_corrupt = 0;
  int64_t ignored_unknown_fields = 0;
  absl::Status health;    // OK, or why writes stopped
  uint64_t epoch = 0;     // Epoch()
  uint64_t revision = 0;  // Revision() when the stats were taken
};

struct ShrinkResult {
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  uint64_t records_before = 0;
  uint64_t records_after = 0;
  absl::Duration duration;
};

class Store {
 public:
  using FlushCallback = absl::AnyInvocable<void(absl::Status)>;
  using ShrinkCallback = absl::AnyInvocable<void(absl::StatusOr<ShrinkResult>)>;
  using SnapshotCallback =
      absl::AnyInvocable<void(absl::StatusOr<WalSnapshot>)>;

  static absl::StatusOr<std::unique_ptr<Store>> Open(StoreOptions options);

  // Close()s.
  virtual ~Store() = default;
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Declares a map of `type` (which must outlive the store) and adopts its
  // orphan records. Declaring an existing map again with the same type
  // returns it; with another type is FailedPrecondition. A bad name is
  // InvalidArgument; orphans that do not decode are DataLoss (the map is
  // then not declared and its records stay orphans).
  virtual absl::StatusOr<DynamicMap*> DeclareMap(
      absl::string_view name, const google::protobuf::Descriptor* type) = 0;
  template <typename T>
  absl::StatusOr<Map<T>> DeclareMap(absl::string_view name) {
    absl::StatusOr<DynamicMap*> map = DeclareMap(name, T::descriptor());
    if (!map.ok()) return map.status();
    return Map<T>(*map);
  }

  // NotFound if no map has that name; InvalidArgument if it is not a
  // valid map name.
  virtual absl::StatusOr<DynamicMap*> GetMap(absl::string_view name) const = 0;
  // Also InvalidArgument if the map does not hold T.
  template <typename T>
  absl::StatusOr<Map<T>> GetMap(absl::string_view name) const {
    absl::StatusOr<DynamicMap*> map = GetMap(name);
    if (!map.ok()) return map.status();
    if ((*map)->type() != T::descriptor()) {
      return WrongTypeError(**map, T::descriptor());
    }
    return Map<T>(*map);
  }

  // The declared maps, by name.
  virtual std::vector<DynamicMap*> Maps() const = 0;

  virtual StoreStats Stats() const = 0;

  // The store's revision (DESIGN.md section 5): every change up to it is
  // visible to reads. Read it before a read, and the read reflects at least
  // every change up to it. It only grows during an open; each open starts
  // a new epoch at revision 1, the state found in the file.
  virtual uint64_t Revision() const = 0;
  // This open's epoch: the first part of etags (etag.h).
  virtual uint64_t Epoch() const = 0;

  // The changes from revision `from` on (each set and each delete of a key
  // that existed) that match `filter`, in revision order, at most
  // `max_changes` of them; ChangeRead::next says where to go on. Only the
  // recent changes are kept (StoreOptions::history): OutOfRange if one at
  // `from` or later is gone, or `from` is 1 or below (no change has those);
  // FailedPrecondition if the store keeps none.
  // A change is readable here once its revision is (see Revision()).
  virtual absl::StatusOr<ChangeRead> ReadChanges(uint64_t from,
                                                 const ChangeFilter& filter,
                                                 size_t max_changes) const = 0;

  // Applies `operations` as one atomic batch (batch.h: all or nothing,
  // visible together, one WAL frame) at `durability`, WRITE or FSYNC.
  // `done` runs as a write's callback does (write_options.h). Errors:
  // InvalidArgument (no operations, a map of another store, a key twice,
  // MEMORY or ASYNC, a bad key or value), the error of the first operation
  // refused ("operations[i]: ..."), Unavailable (closed, or the WAL failed).
  virtual void StartWrite(std::vector<BatchOperation> operations,
                          Durability durability, BatchCallback done) = 0;
  absl::StatusOr<BatchResult> Write(std::vector<BatchOperation> operations,
                                    Durability durability = Durability::kWrite);

  // OK while the store takes writes.
  virtual absl::Status Health() const = 0;

  // Deletes the entries whose expiry has come (expiry.h), up to 100,000 a
  // call, and returns how many. The store does it every
  // StoreOptions::expiry_interval; expired entries are invisible to reads
  // before that all the same.
  virtual int64_t DeleteExpired() = 0;
  // What time it is for expiry: StoreOptions::clock's.
  virtual absl::Time Now() const = 0;

  // Writes every ASYNC change and fsyncs the WAL (go-persist's FSyncAll).
  // `done` runs once it is on disk, on the WAL's thread, or inline on error.
  virtual void StartFlush(FlushCallback done) = 0;
  absl::Status Flush();

  // Rewrites the WAL as the live state, online (DESIGN.md section 5), on a
  // thread of the store's: the caller's thread only waits. One runs at a
  // time; a Shrink asked for while one runs joins it and gets its result.
  // `done` runs on the shrink thread (or inline if the store is closed); it
  // must not wait for the store. A failure that leaves the store writable
  // keeps its cause's code (ResourceExhausted for a full disk, ...) and says
  // that writes go on.
  virtual void StartShrink(ShrinkCallback done) = 0;
  absl::StatusOr<ShrinkResult> Shrink();

  // A copy of the WAL (wal_snapshot.h) holding every change made before
  // the call at ASYNC, WRITE or FSYNC: it flushes as StartFlush does, then
  // takes the file as it is between two writes, which go on meanwhile.
  // MEMORY changes are in no file, so in no copy. `done` runs on the WAL's
  // thread, or inline on error: Unavailable if the store is closed or its
  // WAL failed.
  virtual void StartSnapshot(SnapshotCallback done) = 0;
  absl::StatusOr<WalSnapshot> Snapshot();

  // Flushes, fsyncs and stops background work. Later calls fail with
  // Unavailable. Returns the WAL's error if it failed. Idempotent.
  virtual absl::Status Close() = 0;

  virtual const std::string& path() const = 0;

 protected:
  Store() = default;

 private:
  static absl::Status WrongTypeError(const DynamicMap& map,
                                     const google::protobuf::Descriptor* type);
};

}  // namespace persist

#endif  // PERSIST_STORAGE_STORE_H_
