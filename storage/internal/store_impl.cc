#include "storage/internal/store_impl.h"

#include <algorithm>
#include <bit>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "google/protobuf/message.h"
#include "storage/internal/shrinker.h"
#include "storage/internal/wal_format.h"
#include "storage/internal/wal_loader.h"
#include "storage/internal/wal_recovery.h"
#include "storage/names.h"

namespace persist {
namespace {

// Skipped records logged one by one; the rest are counted.
constexpr int64_t kMaxLoggedSkips = 100;

// Under skip_corrupt, logs the skipped problems (the first ones one by one);
// in strict mode, the error that refuses the first.
absl::Status SkipOrRefuse(const StoreOptions& options,
                          const std::vector<WalProblem>& problems) {
  PERSIST_RETURN_IF_ERROR(OpenVerdict(options, problems));
  const int64_t count = static_cast<int64_t>(problems.size());
  for (int64_t i = 0; i < std::min(count, kMaxLoggedSkips); ++i) {
    options.log(LogLevel::kWarning,
                absl::StrCat("skip_corrupt: skipped ", options.path, " line ",
                             problems[i].line, ": ", problems[i].reason));
  }
  if (count > kMaxLoggedSkips) {
    options.log(LogLevel::kWarning,
                absl::StrCat("skip_corrupt: skipped ", count,
                             " damaged records in all (the first ",
                             kMaxLoggedSkips, " are logged above)"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> StoreImpl::Open(StoreOptions options) {
  const absl::Time start = absl::Now();
  PERSIST_RETURN_IF_ERROR(ValidateStoreOptions(options));
  Parts parts;
  parts.started = start;
  if (!options.log) options.log = StderrLogSink();
  parts.file_system = FileSystemOf(options);
  parts.options = std::move(options);
  PERSIST_RETURN_IF_ERROR(LockAndTidy(&parts));
  PERSIST_RETURN_IF_ERROR(Recover(&parts));
  PERSIST_RETURN_IF_ERROR(StartWal(&parts));
  std::unique_ptr<StoreImpl> store(new StoreImpl(std::move(parts)));
  store->LogOpened(absl::Now() - start);
  return store;
}

absl::Status StoreImpl::LockAndTidy(Parts* parts) {
  const std::string& path = parts->options.path;
  PERSIST_ASSIGN_OR_RETURN(parts->lock,
                           parts->file_system->Lock(path + ".lock"));
  const std::string temp = Shrinker::TempPath(path);
  if (parts->file_system->FileSize(temp).ok()) {
    PERSIST_RETURN_IF_ERROR(parts->file_system->Remove(temp));
    parts->options.log(LogLevel::kWarning,
                       absl::StrCat("removed ", temp,
                                    ", left by a Shrink that did not finish; ",
                                    path, " is complete without it"));
  }
  return absl::OkStatus();
}

absl::Status StoreImpl::Recover(Parts* parts) {
  const StoreOptions& options = parts->options;
  PERSIST_ASSIGN_OR_RETURN(
      parts->load,
      LoadWal(options, parts->file_system,
              /*all_problems=*/options.recovery == RecoveryMode::kSkipCorrupt));
  const Recovered& recovered = parts->load.recovered;
  PERSIST_RETURN_IF_ERROR(SkipOrRefuse(options, recovered.problems));
  parts->skipped_corrupt = static_cast<int64_t>(recovered.problems.size());
  parts->ignored_unknown_fields = recovered.ignored_unknown_fields;
  parts->decode_threads = recovered.decode_threads;
  // Records that did not decode are records of the file all the same.
  parts->records =
      recovered.scan.records.size() - recovered.scan.expiry_records;
  const bool existed = parts->load.existed;
  const WalScan& scan = recovered.scan;
  const bool needs_header = scan.needs_header;
  const uint64_t valid_bytes = scan.valid_bytes;
  const uint64_t torn_bytes = scan.torn_bytes;
  parts->torn_batch_records = scan.torn_batch_records;
  parts->file_commit_seq = scan.last_commit_seq();
  // Unmapped before the file changes; the records pointed into it.
  parts->load.recovered.scan.records.clear();
  parts->load.contents.reset();
  return MendFile(parts, needs_header, valid_bytes, torn_bytes, existed);
}

absl::Status StoreImpl::MendFile(Parts* parts, bool needs_header,
                                 uint64_t valid_bytes, uint64_t torn_bytes,
                                 bool existed) {
  const StoreOptions& options = parts->options;
  FileSystem* const fs = parts->file_system;
  parts->torn_tail_bytes = torn_bytes;
  if (needs_header) {
    if (torn_bytes > 0) {
      options.log(LogLevel::kWarning,
                  absl::StrCat(options.path, " held only ", torn_bytes,
                               " bytes of a header (a crash while it was "
                               "created); starting it again"));
    }
    PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> fresh,
                             fs->CreateEmpty(options.path,
                                             /*permissions_of=*/""));
    PERSIST_RETURN_IF_ERROR(fresh->Append(kWalHeader));
    PERSIST_RETURN_IF_ERROR(fresh->Sync());
    PERSIST_RETURN_IF_ERROR(fresh->Close());
    PERSIST_RETURN_IF_ERROR(fs->SyncDir(DirName(options.path)));
    parts->file_bytes = kWalHeader.size();
    if (!existed) {
      options.log(LogLevel::kInfo, absl::StrCat("created ", options.path));
    }
    return absl::OkStatus();
  }
  parts->file_bytes = valid_bytes;
  if (torn_bytes == 0) return absl::OkStatus();
  PERSIST_RETURN_IF_ERROR(fs->Truncate(options.path, valid_bytes));
  const std::string what =
      parts->torn_batch_records > 0
          ? absl::StrCat("an incomplete batch, whose ",
                         parts->torn_batch_records,
                         " complete records went with it since a batch is "
                         "recovered whole or not at all; the usual trace of a "
                         "crash while writing")
          : std::string(
                "an incomplete last record, the usual trace of a crash "
                "while writing");
  options.log(LogLevel::kWarning,
              absl::StrCat("cut a torn tail of ", torn_bytes, " bytes from ",
                           options.path, " (", what, "); ", parts->records,
                           " complete records kept"));
  return absl::OkStatus();
}

absl::Status StoreImpl::StartWal(Parts* parts) {
  PERSIST_ASSIGN_OR_RETURN(
      std::unique_ptr<WritableFile> file,
      parts->file_system->OpenForAppend(parts->options.path));
  GroupCommitQueue::Options wal;
  wal.file_bytes = parts->file_bytes;
  wal.records = parts->records;
  wal.file_commit_seq = parts->file_commit_seq;
  wal.commit_log = parts->options.commit_log;
  wal.first_commit_seq = parts->file_commit_seq + 1;
  if (const uint64_t first = parts->options.first_commit_seq;
      wal.commit_log != nullptr && first != 0) {
    // The file's records and the log's entries must be one history.
    if (parts->file_commit_seq != 0 && first != parts->file_commit_seq + 1) {
      return absl::FailedPreconditionError(absl::StrCat(
          parts->options.path, " holds the commit log's entries up to ",
          parts->file_commit_seq, ", but the store was asked to commit from ",
          "entry ", first,
          ": they would not be one history. Leave first_commit_seq at 0 to "
          "continue after the file's entries."));
    }
    wal.first_commit_seq = first;
  }
  wal.on_failure =
      [path = parts->options.path, log = parts->options.log,
       report = parts->options.on_write_failure](const absl::Status& error) {
        log(LogLevel::kError, absl::StrCat(path, ": ", error.message()));
        if (report) report(error);
      };
  parts->wal =
      std::make_unique<GroupCommitQueue>(std::move(file), std::move(wal));
  return absl::OkStatus();
}

StoreImpl::StoreImpl(Parts parts)
    : options_(std::move(parts.options)),
      file_system_(parts.file_system),
      lock_(std::move(parts.lock)),
      factory_(std::move(parts.load.factory)),
      changes_(std::move(parts.load.changes)),
      codec_(std::move(parts.load.codec)),
      wal_(std::move(parts.wal)),
      shards_per_map_(ShardsPerMap(options_)),
      orphans_(std::move(parts.load.orphans)),
      torn_tail_bytes_(parts.torn_tail_bytes),
      open_duration_(absl::Now() - parts.started),
      decode_threads_(parts.decode_threads),
      skipped_corrupt_(parts.skipped_corrupt),
      ignored_unknown_fields_(parts.ignored_unknown_fields) {
  {
    MutexLock lock(&maps_mu_);
    for (LoadedMap& recovered : parts.load.maps) {
      std::unique_ptr<MapImpl> map = Wrap(std::move(recovered));
      const std::string name = map->name();
      maps_[name] = std::move(map);
    }
  }
  background_ = std::thread([this] { RunBackground(); });
  shrinker_ = std::thread([this] { RunShrinks(); });
}

StoreImpl::~StoreImpl() { (void)Close(); }

std::unique_ptr<MapImpl> StoreImpl::Wrap(LoadedMap recovered) {
  return std::make_unique<MapImpl>(recovered.type, recovered.prototype,
                                   std::move(recovered.entries), *codec_, *wal_,
                                   changes_->clock());
}

void StoreImpl::LogOpened(absl::Duration took) const {
  const StoreStats stats = Stats();
  Log(LogLevel::kInfo,
      absl::StrFormat(
          "opened %s: %d records, %d live keys in %d maps, %d orphan keys of "
          "%d undeclared maps, %.1f MB in %s (%.0f MB/s, decoded on %d "
          "threads)",
          options_.path, stats.wal_records, stats.live_keys, stats.maps.size(),
          stats.orphan_keys, stats.orphan_maps, stats.file_bytes / 1e6,
          absl::FormatDuration(took),
          stats.file_bytes / 1e6 / std::max(absl::ToDoubleSeconds(took), 1e-6),
          decode_threads_));
  if (stats.skipped_corrupt > 0 && options_.auto_shrink.enabled) {
    Log(LogLevel::kWarning,
        absl::StrCat(
            "auto-shrink is off for this open: ", stats.skipped_corrupt,
            " damaged records were skipped and stay in the file "
            "until an explicit Shrink"));
  }
}

void StoreImpl::Log(LogLevel level, absl::string_view message) const {
  options_.log(level, message);
}

absl::Status StoreImpl::CheckOpen() const {
  if (!closing_.load(std::memory_order_acquire)) return absl::OkStatus();
  return absl::UnavailableError(absl::StrCat(
      "the store ", options_.path, " is closed; open it again to use it"));
}

absl::StatusOr<DynamicMap*> StoreImpl::DeclareMap(
    absl::string_view name, const google::protobuf::Descriptor* type) {
  PERSIST_RETURN_IF_ERROR(ValidateMapDeclaration(name, type));
  // shrink_mu_ keeps declarations and Shrinks one at a time, so the
  // orphans cannot change under us; maps_mu_ is held only to look and to
  // publish, not while orphans are decoded.
  MutexLock shrink_lock(&shrink_mu_);
  PERSIST_RETURN_IF_ERROR(CheckOpen());
  std::vector<OrphanRecords::Orphan> orphans;
  {
    ReaderMutexLock lock(&maps_mu_);
    if (auto it = maps_.find(name); it != maps_.end()) {
      if (it->second->type() == type) return it->second.get();
      return absl::FailedPreconditionError(absl::StrCat(
          "map \"", name, "\" is already declared with type ",
          it->second->type()->full_name(), ", not ", type->full_name()));
    }
    orphans = orphans_.Collect(name);
  }
  LoadedMap recovered;
  recovered.type = type;
  PERSIST_ASSIGN_OR_RETURN(recovered.prototype,
                           PrototypeOf(name, type, factory_.get()));
  recovered.entries = std::make_unique<ShardedMap>(
      std::string(name), *changes_, ClockOf(options_), shards_per_map_);
  if (!orphans.empty()) {
    const RecoveryOptions recovery = MakeRecoveryOptions(
        options_, *codec_,
        /*all_problems=*/options_.recovery == RecoveryMode::kSkipCorrupt);
    const Adopted adopted = AdoptOrphans(
        orphans, {recovered.prototype, recovered.entries.get()}, recovery);
    if (!adopted.problems.empty() &&
        options_.recovery != RecoveryMode::kSkipCorrupt) {
      // Not OpenVerdict's message: the file opened, and the kept records
      // have no byte offsets.
      const WalProblem& first = adopted.problems.front();
      return absl::DataLossError(absl::StrCat(
          "map \"", name, "\" cannot be declared as ", type->full_name(),
          ": of the ", orphans.size(),
          " records kept for it, some do not decode; one, read from ",
          options_.path, " line ", first.line, ": ", first.reason,
          "; declare it with the type its records were written with, or "
          "open the store with skip_corrupt to skip such records"));
    }
    PERSIST_RETURN_IF_ERROR(SkipOrRefuse(options_, adopted.problems));
    skipped_corrupt_ += static_cast<int64_t>(adopted.problems.size());
    ignored_unknown_fields_ += adopted.ignored_unknown_fields;
    Log(LogLevel::kInfo,
        absl::StrCat("map \"", name, "\" declared: adopted ", adopted.applied,
                     " records kept for it since the file was opened"));
  }
  std::unique_ptr<MapImpl> map = Wrap(std::move(recovered));
  DynamicMap* const raw = map.get();
  MutexLock lock(&maps_mu_);
  orphans_.Drop(name);
  maps_[name] = std::move(map);
  return raw;
}

absl::StatusOr<DynamicMap*> StoreImpl::GetMap(absl::string_view name) const {
  PERSIST_RETURN_IF_ERROR(CheckOpen());
  PERSIST_RETURN_IF_ERROR(ValidateMapName(name));
  ReaderMutexLock lock(&maps_mu_);
  auto it = maps_.find(name);
  if (it == maps_.end() && name.empty()) {
    // Most often a caller that forgot to name its map: an argument missing,
    // unless go-persist's single map was meant.
    return absl::InvalidArgumentError(absl::StrCat(
        "no map is named; name one (", options_.path,
        " declares no map with the empty name, go-persist's single map)"));
  }
  if (it == maps_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no map \"", name, "\" is declared in ", options_.path,
                     "; declare it (name and message type) first"));
  }
  return it->second.get();
}

std::vector<DynamicMap*> StoreImpl::Maps() const {
  std::vector<DynamicMap*> maps;
  {
    ReaderMutexLock lock(&maps_mu_);
    for (const auto& [name, map] : maps_) maps.push_back(map.get());
  }
  std::sort(maps.begin(), maps.end(),
            [](const DynamicMap* a, const DynamicMap* b) {
              return a->name() < b->name();
            });
  return maps;
}

absl::StatusOr<ChangeRead> StoreImpl::ReadChanges(uint64_t from,
                                                  const ChangeFilter& filter,
                                                  size_t max_changes) const {
  // Looking at more than this under the history's lock would keep writers
  // waiting; the caller goes on from ChangeRead::next.
  constexpr size_t kMaxLookedAt = 4096;
  return changes_->Read(from, filter, max_changes, kMaxLookedAt);
}

StoreStats StoreImpl::Stats() const {
  StoreStats stats;
  stats.epoch = changes_->clock().epoch();
  stats.revision = changes_->clock().current();
  stats.ignored_unknown_fields = ignored_unknown_fields_.load();
  {
    ReaderMutexLock lock(&maps_mu_);
    for (const auto& [name, map] : maps_) {
      const ShardedMap& entries = map->entries();
      stats.maps.push_back({name, map->type()->full_name(), map->Size(),
                            entries.expiring(), entries.expirations()});
      stats.live_keys += map->Size();
      stats.expiring_keys += entries.expiring();
      stats.expirations += entries.expirations();
      const std::array<uint64_t, kDurabilityCount> writes =
          map->entries().writes();
      for (int i = 0; i < kDurabilityCount; ++i) stats.writes[i] += writes[i];
      stats.ignored_unknown_fields += map->ignored_unknown_fields();
    }
    stats.orphan_keys = orphans_.keys();
    stats.orphan_maps = orphans_.maps();
  }
  std::sort(
      stats.maps.begin(), stats.maps.end(),
      [](const MapStats& a, const MapStats& b) { return a.name < b.name; });
  const GroupCommitQueue::Counters counters = wal_->counters();
  stats.wal_records = counters.records;
  stats.file_bytes = counters.file_bytes;
  stats.wal_batches = counters.batches;
  stats.wal_syncs = counters.syncs;
  stats.wal_appended_bytes = counters.appended_bytes;
  stats.commit_seq = counters.file_commit_seq;
  stats.wal_batch_records = counters.batch_records;
  stats.wal_sync_seconds = counters.sync_seconds;
  stats.shrink_failures = shrink_failures_.load();
  stats.shrink_seconds = shrink_seconds_.Snapshot();
  stats.shrinks = stats.shrink_seconds.count;  // one per completed Shrink
  stats.open_duration = open_duration_;
  stats.torn_tail_bytes = torn_tail_bytes_;
  stats.skipped_corrupt = skipped_corrupt_.load();
  stats.health = Health();
  return stats;
}

absl::Status StoreImpl::Health() const {
  PERSIST_RETURN_IF_ERROR(CheckOpen());
  return wal_->health();
}

void StoreImpl::StartFlush(FlushCallback done) {
  if (absl::Status status = CheckOpen(); !status.ok()) {
    if (done) done(status);
    return;
  }
  {
    ReaderMutexLock lock(&maps_mu_);
    for (const auto& [name, map] : maps_) map->entries().FlushDirty(*wal_);
  }
  wal_->Sync(std::move(done));
}

void StoreImpl::StartSnapshot(SnapshotCallback done) {
  // The flush's callback runs on the WAL's sync thread, which Close joins
  // before the store goes: `this` outlives it.
  StartFlush([this, done = std::move(done)](absl::Status flushed) mutable {
    if (!flushed.ok()) {
      done(std::move(flushed));
      return;
    }
    done(TakeSnapshot());
  });
}

absl::StatusOr<WalSnapshot> StoreImpl::TakeSnapshot() const {
  absl::StatusOr<WalSnapshot> snapshot;
  wal_->AtBatchBoundary(
      [&](uint64_t bytes, uint64_t records, uint64_t commit_seq) {
        // Opened now, with no write under way and no swap: the file at the
        // path is the WAL's, and holds at least `bytes` (more only after a
        // failed write, whose bytes the copy leaves out). On the real file
        // system only an open(2): writers wait for nothing else.
        absl::StatusOr<std::unique_ptr<RandomAccessFile>> file =
            file_system_->OpenForReading(options_.path);
        if (!file.ok()) {
          snapshot = absl::Status(
              file.status().code(),
              absl::StrCat("cannot copy the WAL: ", file.status().message()));
          return;
        }
        snapshot = WalSnapshot{*std::move(file), options_.path, bytes, records,
                               commit_seq};
      });
  return snapshot;
}

void StoreImpl::StartShrink(ShrinkCallback done) {
  if (absl::Status status = CheckOpen(); !status.ok()) {
    if (done) done(status);
    return;
  }
  RequestShrink(std::move(done));
}

void StoreImpl::RequestShrink(ShrinkCallback done) {
  {
    MutexLock lock(&shrink_requests_mu_);
    if (!shrink_stop_) {
      // A run that has begun took its snapshot, or is taking it: it does
      // not see the changes made before this call, so a caller waits for
      // the next run (one serves every caller that came during this one).
      // Auto-shrink's requests (no caller) need no second run.
      if (done) {
        shrink_waiters_.push_back(std::move(done));
        shrink_requested_ = true;
      } else if (!shrink_running_) {
        shrink_requested_ = true;
      }
      shrink_wake_.Signal();
      return;
    }
  }
  if (done) done(CheckOpen());
}

void StoreImpl::RunShrinks() {
  std::vector<ShrinkCallback> waiters;
  for (;;) {
    {
      MutexLock lock(&shrink_requests_mu_);
      while (!shrink_requested_ && !shrink_stop_) {
        shrink_wake_.Wait(&shrink_requests_mu_);
      }
      if (shrink_stop_) return;  // Close completes the waiters left
      shrink_requested_ = false;
      shrink_running_ = true;
      waiters.swap(shrink_waiters_);  // this run answers the ones so far
    }
    const absl::StatusOr<ShrinkResult> result = ShrinkNow();
    {
      MutexLock lock(&shrink_requests_mu_);
      shrink_running_ = false;
    }
    for (ShrinkCallback& waiter : waiters) waiter(result);
    waiters.clear();
  }
}

absl::StatusOr<ShrinkResult> StoreImpl::ShrinkNow() {
  MutexLock shrink_lock(&shrink_mu_);
  PERSIST_RETURN_IF_ERROR(CheckOpen());
  PERSIST_RETURN_IF_ERROR(wal_->health());
  Shrinker::Input input;
  input.path = options_.path;
  input.file_system = file_system_;
  input.wal = wal_.get();
  input.codec = codec_.get();
  {
    MutexLock lock(&maps_mu_);  // exclusive: the orphans change
    orphans_.DropExpired(absl::ToUnixNanos(ClockOf(options_).Now()));
  }
  {
    ReaderMutexLock lock(&maps_mu_);
    for (const auto& [name, map] : maps_) input.maps.push_back(&map->entries());
    input.orphan_count = orphans_.AppendTo(&input.orphans);
  }
  if (wal_->replicated()) {
    input.commit_snapshot = [this] { return Flush(); };
  }
  absl::StatusOr<ShrinkResult> result = Shrinker::Run(input);
  if (!result.ok()) {
    shrink_failures_.fetch_add(1);
    Log(LogLevel::kError, result.status().message());
    return result;
  }
  shrink_seconds_.Observe(absl::ToDoubleSeconds(result->duration));
  Log(LogLevel::kInfo,
      absl::StrFormat("shrank %s from %d records (%.1f MB) to %d records "
                      "(%.1f MB) in %s",
                      options_.path, result->records_before,
                      result->bytes_before / 1e6, result->records_after,
                      result->bytes_after / 1e6,
                      absl::FormatDuration(result->duration)));
  return result;
}

void StoreImpl::MaybeAutoShrink() {
  // Skipped damaged records stay in the file until an explicit Shrink.
  if (skipped_corrupt_.load() > 0) return;
  const AutoShrinkOptions& options = options_.auto_shrink;
  const StoreStats stats = Stats();
  if (!stats.health.ok() || stats.file_bytes < options.min_file_bytes) return;
  const int64_t live = stats.live_keys + stats.orphan_keys;
  const bool worth_it = live == 0
                            ? stats.wal_records > 0
                            : static_cast<double>(stats.wal_records) >=
                                  options.ratio * static_cast<double>(live);
  if (!worth_it) return;
  Log(LogLevel::kInfo,
      absl::StrFormat("auto-shrink: %d records for %d live keys (ratio %.2f "
                      ">= %.2f)",
                      stats.wal_records, live,
                      static_cast<double>(stats.wal_records) /
                          static_cast<double>(std::max<int64_t>(live, 1)),
                      options.ratio));
  RequestShrink(nullptr);  // logs its own outcome
}

int64_t StoreImpl::DeleteExpired() {
  // Per shard, at most this many at a time, so that writers of a shard
  // with many keys expiring at once wait little; per call at most
  // kPerCall, so that the background's flush (the same thread) is not held
  // up by a backlog, such as a file full of expired entries.
  constexpr size_t kPerShard = 256;
  constexpr int64_t kPerCall = 100000;
  std::vector<ShardedMap*> maps;
  {
    ReaderMutexLock lock(&maps_mu_);
    for (const auto& [name, map] : maps_) maps.push_back(&map->entries());
  }
  if (maps.empty()) return 0;
  // Each call starts with the map after the one the last call stopped in,
  // so that a map with a backlog cannot keep the others from being swept.
  const size_t first = expiry_cursor_.load(std::memory_order_relaxed);
  int64_t deleted = 0;
  for (size_t i = 0; i < maps.size(); ++i) {
    const size_t at = (first + i) % maps.size();
    for (;;) {
      const int64_t round = maps[at]->ExpireDue(*wal_, kPerShard);
      deleted += round;
      if (round == 0) break;
      if (deleted >= kPerCall) {
        // The next call starts with the next map; this one's backlog is
        // reached again once the others had their turn.
        expiry_cursor_.store((at + 1) % maps.size(), std::memory_order_relaxed);
        return deleted;
      }
    }
  }
  return deleted;
}

void StoreImpl::RunBackground() {
  const bool auto_shrink = options_.auto_shrink.enabled;
  absl::Time next_sync = absl::Now() + options_.sync_interval;
  absl::Time next_check = absl::Now() + options_.auto_shrink.check_interval;
  absl::Time next_expiry = absl::Now() + options_.expiry_interval;
  for (;;) {
    {
      MutexLock lock(&background_mu_);
      for (;;) {
        if (background_stop_) return;
        const absl::Time next =
            std::min(auto_shrink ? std::min(next_sync, next_check) : next_sync,
                     next_expiry);
        const absl::Duration wait = next - absl::Now();
        if (wait <= absl::ZeroDuration()) break;
        background_wake_.WaitWithTimeout(&background_mu_, wait);
      }
    }
    const absl::Time now = absl::Now();
    if (now >= next_expiry) {
      DeleteExpired();
      next_expiry = now + options_.expiry_interval;
    }
    if (now >= next_sync) {
      // Write the ASYNC changes and fsync what WRITE left unsynced.
      StartFlush(nullptr);
      next_sync = now + options_.sync_interval;
    }
    if (auto_shrink && now >= next_check) {
      MaybeAutoShrink();
      next_check = absl::Now() + options_.auto_shrink.check_interval;
    }
  }
}

absl::Status StoreImpl::Close() {
  MutexLock close_lock(&close_mu_);
  if (closed_) return close_status_;
  closed_ = true;
  closing_.store(true, std::memory_order_release);
  {
    MutexLock lock(&background_mu_);
    background_stop_ = true;
    background_wake_.Signal();
  }
  background_.join();
  std::vector<ShrinkCallback> unserved;
  {
    MutexLock lock(&shrink_requests_mu_);
    shrink_stop_ = true;
    shrink_wake_.Signal();
  }
  shrinker_.join();  // after the Shrink that runs, if one does
  {
    MutexLock lock(&shrink_requests_mu_);
    unserved.swap(shrink_waiters_);
  }
  for (ShrinkCallback& waiter : unserved) waiter(CheckOpen());
  MutexLock shrink_lock(&shrink_mu_);  // waits for a DeclareMap
  std::vector<ShardedMap*> maps;
  {
    ReaderMutexLock lock(&maps_mu_);
    for (const auto& [name, map] : maps_) maps.push_back(&map->entries());
  }
  for (ShardedMap* map : maps) map->Close();
  for (ShardedMap* map : maps) map->FlushDirty(*wal_);
  Notification synced;
  wal_->Sync([&synced](const absl::Status&) { synced.Notify(); });
  synced.WaitForNotification();
  wal_->Stop();
  close_status_ = wal_->health();
  lock_.reset();
  if (close_status_.ok()) {
    Log(LogLevel::kInfo, absl::StrCat("closed ", options_.path));
  } else {
    Log(LogLevel::kError, absl::StrCat("closed ", options_.path,
                                       " after: ", close_status_.message()));
  }
  return close_status_;
}

}  // namespace persist
