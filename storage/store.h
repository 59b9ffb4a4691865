// Store: one WAL file holding any number of typed maps (DESIGN.md 2, 3, 5).
//
//   persist::StoreOptions options;
//   options.path = "data.wal";
//   auto store = persist::Store::Open(options);              // recovers
//   auto users = (*store)->DeclareMap<example::v1::User>("users");
//   users->Set("alice", alice, {.durability = persist::Durability::kFsync});
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
// Failure: once a write or fsync of the WAL fails, writes fail with that
// error and reads go on; Health() and Stats() report it. Reopen to recover.
//
// Thread-safety: every method may be called concurrently, except that
// nothing may be called during or after destruction.
#ifndef PERSIST_STORAGE_STORE_H_
#define PERSIST_STORAGE_STORE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/any_invocable.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "storage/durability.h"
#include "storage/dynamic_map.h"
#include "base/histogram.h"
#include "storage/map.h"
#include "base/mutex.h"
#include "storage/internal/orphan_records.h"
#include "storage/internal/shrinker.h"
#include "storage/store_options.h"

namespace persist {

struct StoreContext;

struct MapStats {
  std::string name;
  std::string type;  // full message type name
  int64_t live_keys = 0;
};

struct StoreStats {
  std::vector<MapStats> maps;  // by name
  int64_t live_keys = 0;       // in all maps
  int64_t orphan_keys = 0;     // live keys of maps not declared
  int64_t orphan_maps = 0;
  uint64_t wal_records = 0;  // records in the file (live and dead)
  uint64_t file_bytes = 0;
  uint64_t wal_batches = 0;  // writes since open
  uint64_t wal_syncs = 0;    // fdatasyncs since open
  uint64_t wal_appended_bytes = 0;  // written since open
  HistogramSnapshot wal_batch_records;  // records per write
  HistogramSnapshot wal_sync_seconds;   // fdatasync latency
  // Changes made since open, indexed by Durability.
  std::array<uint64_t, kDurabilityCount> writes{};
  uint64_t shrinks = 0;          // completed since open
  uint64_t shrink_failures = 0;  // since open
  HistogramSnapshot shrink_seconds;
  absl::Duration open_duration;  // how long Open took: read, scan, decode
  // What opening found: torn tail bytes cut, damaged records skipped under
  // skip_corrupt, unknown fields skipped under ignore_unknown_fields.
  uint64_t torn_tail_bytes = 0;
  int64_t skipped_corrupt = 0;
  int64_t ignored_unknown_fields = 0;
  absl::Status health;  // OK, or why writes stopped
};

class Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(StoreOptions options);

  // Close()s.
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Declares a map of `type` (which must outlive the store) and adopts its
  // orphan records. Declaring an existing map again with the same type
  // returns it; with another type is FailedPrecondition. A bad name is
  // InvalidArgument; orphans that do not decode are DataLoss (the map is
  // then not declared and its records stay orphans).
  absl::StatusOr<DynamicMap*> DeclareMap(
      absl::string_view name, const google::protobuf::Descriptor* type);
  template <typename T>
  absl::StatusOr<Map<T>> DeclareMap(absl::string_view name) {
    absl::StatusOr<DynamicMap*> map = DeclareMap(name, T::descriptor());
    if (!map.ok()) return map.status();
    return Map<T>(*map);
  }

  // NotFound if no map has that name.
  absl::StatusOr<DynamicMap*> GetMap(absl::string_view name) const;
  // Also InvalidArgument if the map does not hold T.
  template <typename T>
  absl::StatusOr<Map<T>> GetMap(absl::string_view name) const {
    absl::StatusOr<DynamicMap*> map = GetMap(name);
    if (!map.ok()) return map.status();
    if ((*map)->type() != T::descriptor()) return WrongTypeError(**map, T::descriptor());
    return Map<T>(*map);
  }

  // The declared maps, by name.
  std::vector<DynamicMap*> Maps() const;

  StoreStats Stats() const;

  // OK while the store takes writes.
  absl::Status Health() const;

  // Writes every ASYNC change and fsyncs the WAL (go-persist's FSyncAll).
  absl::Status Flush();
  void StartFlush(absl::AnyInvocable<void(absl::Status)> done);

  // Rewrites the WAL as the live state, online (shrinker.h). One at a time:
  // a Shrink while another runs waits for it.
  absl::StatusOr<ShrinkResult> Shrink();

  // Flushes, fsyncs and stops background work. Later calls fail with
  // FailedPrecondition. Returns the WAL's error if it failed. Idempotent.
  absl::Status Close();

  const std::string& path() const;

 private:
  explicit Store(StoreOptions options, std::unique_ptr<StoreContext> context);

  absl::Status Recover();
  // A new map, not yet visible through the store.
  absl::StatusOr<std::unique_ptr<DynamicMap>> NewMap(
      absl::string_view name, const google::protobuf::Descriptor* type);
  static absl::Status WrongTypeError(const DynamicMap& map,
                                     const google::protobuf::Descriptor* type);
  void RunBackground();
  void MaybeAutoShrink();
  void Log(LogLevel level, absl::string_view message) const;

  const StoreOptions options_;
  FileSystem* const file_system_;
  const std::unique_ptr<StoreContext> context_;
  const int shards_per_map_;
  std::unique_ptr<FileLock> lock_;

  // Makes values of types outside the generated pool. Thread-safe.
  google::protobuf::DynamicMessageFactory dynamic_factory_;

  // Lock order: shrink_mu_, then maps_mu_, then a map's shards.
  Mutex shrink_mu_;  // one Shrink or DeclareMap at a time
  mutable Mutex maps_mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<DynamicMap>> maps_
      ABSL_GUARDED_BY(maps_mu_);
  OrphanRecords orphans_ ABSL_GUARDED_BY(maps_mu_);

  std::atomic<uint64_t> shrink_failures_{0};
  // 10 ms to about 1.5 hours.
  Histogram shrink_seconds_{Histogram::ExponentialBounds(0.01, 2, 20)};
  absl::Duration open_duration_;  // set while opening
  uint64_t torn_tail_bytes_ = 0;        // set while opening
  std::atomic<int64_t> skipped_corrupt_{0};
  std::atomic<int64_t> ignored_unknown_fields_{0};

  Mutex background_mu_;
  CondVar background_wake_;
  bool background_stop_ ABSL_GUARDED_BY(background_mu_) = false;
  std::thread background_;

  Mutex close_mu_;
  bool closed_ ABSL_GUARDED_BY(close_mu_) = false;
  absl::Status close_status_ ABSL_GUARDED_BY(close_mu_);
};

}  // namespace persist

#endif  // PERSIST_STORAGE_STORE_H_
