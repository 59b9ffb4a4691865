// StoreImpl: Store as Store::Open builds it (the contract is in store.h).
//
// It owns everything of one open store: the file lock, the codec, the
// revision clock, the WAL queue, the maps and the orphans, the flusher
// thread and the shrink thread. Open builds the parts in order (lock, read,
// recover, mend the file, start the queue) and hands them to the
// constructor, so that nothing of a store exists half-built.
//
// Lock order: shrink_mu_, then maps_mu_, then a map's locks (sharded_map.h),
// then the WAL queue's. close_mu_ is taken first, by Close only.
#ifndef PERSIST_STORAGE_INTERNAL_STORE_IMPL_H_
#define PERSIST_STORAGE_INTERNAL_STORE_IMPL_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "base/histogram.h"
#include "base/mutex.h"
#include "google/protobuf/dynamic_message.h"
#include "json/json_codec.h"
#include "storage/internal/change_history.h"
#include "storage/internal/group_commit_queue.h"
#include "storage/internal/map_impl.h"
#include "storage/internal/orphan_records.h"
#include "storage/internal/wal_loader.h"
#include "storage/store.h"

namespace persist {

class StoreImpl final : public Store {
 public:
  static absl::StatusOr<std::unique_ptr<Store>> Open(StoreOptions options);

  ~StoreImpl() override;

  absl::StatusOr<DynamicMap*> DeclareMap(
      absl::string_view name,
      const google::protobuf::Descriptor* type) override;
  absl::StatusOr<DynamicMap*> GetMap(absl::string_view name) const override;
  std::vector<DynamicMap*> Maps() const override;
  StoreStats Stats() const override;
  uint64_t Revision() const override { return changes_->clock().current(); }
  uint64_t Epoch() const override { return changes_->clock().epoch(); }
  absl::StatusOr<ChangeRead> ReadChanges(uint64_t from,
                                         const ChangeFilter& filter,
                                         size_t max_changes) const override;
  void StartWrite(std::vector<BatchOperation> operations, Durability durability,
                  BatchCallback done) override;
  absl::Status Health() const override;
  int64_t DeleteExpired() override;
  absl::Time Now() const override { return ClockOf(options_).Now(); }
  void StartFlush(FlushCallback done) override;
  void StartShrink(ShrinkCallback done) override;
  void StartSnapshot(SnapshotCallback done) override;
  absl::Status Close() override;
  const std::string& path() const override { return options_.path; }

 private:
  // What Open builds, in the order it builds it.
  struct Parts {
    absl::Time started;
    StoreOptions options;
    FileSystem* file_system = nullptr;
    std::unique_ptr<FileLock> lock;
    WalLoad load;
    std::unique_ptr<GroupCommitQueue> wal;
    // What opening found, for Stats.
    uint64_t torn_tail_bytes = 0;
    // Complete records of an incomplete batch, cut with the torn tail.
    int64_t torn_batch_records = 0;
    int64_t skipped_corrupt = 0;
    int64_t ignored_unknown_fields = 0;
    int decode_threads = 1;
    uint64_t records = 0;
    uint64_t file_bytes = 0;
    uint64_t file_commit_seq = 0;  // its last commit record's, 0: none
  };

  explicit StoreImpl(Parts parts);

  // The steps of Open.
  static absl::Status LockAndTidy(Parts* parts);
  static absl::Status Recover(Parts* parts);
  static absl::Status MendFile(Parts* parts, bool needs_header,
                               uint64_t valid_bytes, uint64_t torn_bytes,
                               bool existed);
  static absl::Status StartWal(Parts* parts);
  void LogOpened(absl::Duration took) const;

  std::unique_ptr<MapImpl> Wrap(LoadedMap recovered);
  // Unavailable once Close began.
  absl::Status CheckOpen() const;
  void RunBackground();
  void MaybeAutoShrink();
  // The shrink thread: runs the Shrinks asked for, one at a time.
  void RunShrinks();
  absl::StatusOr<ShrinkResult> ShrinkNow();
  // StartSnapshot's copy, once its flush is written.
  absl::StatusOr<WalSnapshot> TakeSnapshot() const;
  // Asks the shrink thread for a Shrink, or joins the one running.
  void RequestShrink(ShrinkCallback done);
  void Log(LogLevel level, absl::string_view message) const;
  // The map of this store that `map` is, for a batch's operation `index`;
  // InvalidArgument if it is none.
  absl::StatusOr<MapImpl*> BatchMap(const DynamicMap* map, size_t index) const;

  const StoreOptions options_;
  FileSystem* const file_system_;
  std::unique_ptr<FileLock> lock_;  // released by Close
  // Makes values of types outside the generated pool. Thread-safe.
  const std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
  // After factory_, so that it goes first: it holds values of its types.
  // Before the maps, which record their changes in it.
  const std::unique_ptr<ChangeHistory> changes_;
  const std::unique_ptr<const JsonCodec> codec_;
  const std::unique_ptr<GroupCommitQueue> wal_;
  const int shards_per_map_;

  std::atomic<bool> closing_{false};

  Mutex shrink_mu_;  // one Shrink or DeclareMap at a time
  mutable Mutex maps_mu_;
  absl::flat_hash_map<std::string, std::unique_ptr<MapImpl>> maps_
      ABSL_GUARDED_BY(maps_mu_);
  OrphanRecords orphans_ ABSL_GUARDED_BY(maps_mu_);

  // What opening found (constant) and what adopting orphans adds.
  const uint64_t torn_tail_bytes_;
  const absl::Duration open_duration_;
  const int decode_threads_;  // that decoded the file at open
  std::atomic<int64_t> skipped_corrupt_;
  std::atomic<int64_t> ignored_unknown_fields_;
  std::atomic<uint64_t> shrink_failures_{0};
  // The map (in maps_' order) DeleteExpired goes on with.
  std::atomic<size_t> expiry_cursor_{0};
  // 10 ms to about 1.5 hours.
  Histogram shrink_seconds_{Histogram::ExponentialBounds(0.01, 2, 20)};

  Mutex background_mu_;
  CondVar background_wake_;
  bool background_stop_ ABSL_GUARDED_BY(background_mu_) = false;
  std::thread background_;

  Mutex shrink_requests_mu_;
  CondVar shrink_wake_;
  // Waiting for the next Shrink run (a run answers the callers it found
  // when it began).
  std::vector<ShrinkCallback> shrink_waiters_
      ABSL_GUARDED_BY(shrink_requests_mu_);
  bool shrink_requested_ ABSL_GUARDED_BY(shrink_requests_mu_) = false;
  bool shrink_running_ ABSL_GUARDED_BY(shrink_requests_mu_) = false;
  bool shrink_stop_ ABSL_GUARDED_BY(shrink_requests_mu_) = false;
  std::thread shrinker_;

  Mutex close_mu_;
  bool closed_ ABSL_GUARDED_BY(close_mu_) = false;
  absl::Status close_status_ ABSL_GUARDED_BY(close_mu_);
};

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_STORE_IMPL_H_
