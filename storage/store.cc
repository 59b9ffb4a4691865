#include "storage/store.h"

#include <algorithm>
#include <bit>
#include <random>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "google/protobuf/message.h"
#include "storage/names.h"
#include "base/status_macros.h"
#include "storage/internal/store_context.h"
#include "storage/internal/wal_reader.h"
#include "storage/internal/wal_recovery.h"

namespace persist {
namespace {

constexpr int kMaxShardsPerMap = 4096;

absl::Status ValidateOptions(const StoreOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError(
        "StoreOptions.path is empty; give the WAL file's path");
  }
  if (options.sync_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "sync_interval is ", absl::FormatDuration(options.sync_interval),
        "; it must be positive (the default is 1s)"));
  }
  const AutoShrinkOptions& shrink = options.auto_shrink;
  if (shrink.enabled &&
      (shrink.ratio < 1.0 || shrink.check_interval <= absl::ZeroDuration())) {
    return absl::InvalidArgumentError(
        absl::StrCat("auto-shrink needs a ratio of at least 1 (got ",
                     shrink.ratio, ") and a positive check interval (got ",
                     absl::FormatDuration(shrink.check_interval), ")"));
  }
  if (options.shards_per_map < 0 || options.shards_per_map > kMaxShardsPerMap ||
      !std::has_single_bit(
          static_cast<unsigned>(std::max(options.shards_per_map, 1)))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "shards_per_map is ", options.shards_per_map,
        "; use 0 (automatic) or a power of two up to ", kMaxShardsPerMap));
  }
  for (size_t i = 0; i < options.maps.size(); ++i) {
    const MapDeclaration& map = options.maps[i];
    PERSIST_RETURN_IF_ERROR(ValidateMapName(map.name));
    if (map.type == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("map \"", map.name, "\" is declared without a type"));
    }
    for (size_t j = 0; j < i; ++j) {
      if (options.maps[j].name == map.name) {
        return absl::InvalidArgumentError(
            absl::StrCat("map \"", map.name, "\" is declared twice"));
      }
    }
  }
  return absl::OkStatus();
}

int ChooseShards(int requested) {
  if (requested > 0) return requested;
  // Enough shards that writers on every core rarely meet.
  const int cores =
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return static_cast<int>(std::bit_ceil(
      static_cast<unsigned>(std::clamp(16 * cores, 64, kMaxShardsPerMap))));
}

uint64_t RandomEpoch() {
  std::random_device random;
  return (static_cast<uint64_t>(random()) << 32) ^ random();
}

}  // namespace

absl::StatusOr<std::unique_ptr<Store>> Store::Open(StoreOptions options) {
  PERSIST_RETURN_IF_ERROR(ValidateOptions(options));
  if (!options.log) options.log = StderrLogSink();
  JsonCodecOptions codec_options;
  codec_options.any_type_pool = options.any_type_pool;
  codec_options.ignore_unknown_fields = options.ignore_unknown_fields;
  auto context = std::make_unique<StoreContext>(options.path, codec_options,
                                                options.log, RandomEpoch());
  std::unique_ptr<Store> store(
      new Store(std::move(options), std::move(context)));
  PERSIST_RETURN_IF_ERROR(store->Recover());
  store->background_ = std::thread([s = store.get()] { s->RunBackground(); });
  return store;
}

Store::Store(StoreOptions options, std::unique_ptr<StoreContext> context)
    : options_(std::move(options)),
      file_system_(options_.file_system != nullptr ? options_.file_system
                                                   : PosixFileSystem()),
      context_(std::move(context)),
      shards_per_map_(ChooseShards(options_.shards_per_map)) {}

Store::~Store() { (void)Close(); }

const std::string& Store::path() const { return options_.path; }

void Store::Log(LogLevel level, absl::string_view message) const {
  options_.log(level, message);
}

absl::Status Store::Recover() {
  const absl::Time start = absl::Now();
  const std::string& path = options_.path;
  PERSIST_ASSIGN_OR_RETURN(lock_, file_system_->Lock(path + ".lock"));
  const std::string temp = Shrinker::TempPath(path);
  if (file_system_->FileSize(temp).ok()) {
    PERSIST_RETURN_IF_ERROR(file_system_->Remove(temp));
    Log(LogLevel::kWarning,
        absl::StrCat("removed ", temp,
                     ", left by a Shrink that did not finish; ", path,
                     " is complete without it"));
  }

  std::unique_ptr<FileContents> contents;
  absl::StatusOr<std::unique_ptr<FileContents>> read =
      file_system_->ReadFile(path);
  const bool exists = read.ok();
  if (read.ok()) {
    contents = *std::move(read);
  } else if (!absl::IsNotFound(read.status())) {
    return read.status();
  }
  const absl::string_view bytes =
      contents ? contents->data() : absl::string_view();

  const bool skip_corrupt = options_.recovery == RecoveryMode::kSkipCorrupt;
  const absl::Time read_done = absl::Now();
  PERSIST_ASSIGN_OR_RETURN(WalScan scan, ScanWal(bytes, path, skip_corrupt));
  const absl::Time scan_done = absl::Now();
  for (const SkippedLine& skipped : scan.skipped) {
    Log(LogLevel::kWarning,
        absl::StrCat("skip_corrupt: skipped ", path, " line ", skipped.line,
                     ": ", skipped.reason));
  }
  RecoveryCounters counters;
  counters.skipped_corrupt = static_cast<int64_t>(scan.skipped.size());
  int decode_threads = 0;
  {
    MutexLock lock(&maps_mu_);
    absl::flat_hash_map<std::string, DynamicMap*> by_name;
    for (const MapDeclaration& declaration : options_.maps) {
      PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<DynamicMap> map,
                               NewMap(declaration.name, declaration.type));
      by_name[declaration.name] = map.get();
      maps_[declaration.name] = std::move(map);
    }
    RecoveryOptions recovery;
    recovery.path = path;
    recovery.skip_corrupt = skip_corrupt;
    recovery.threads = options_.recovery_threads > 0
                           ? options_.recovery_threads
                           : static_cast<int>(std::max(
                                 1u, std::thread::hardware_concurrency()));
    recovery.log = options_.log;
    PERSIST_RETURN_IF_ERROR(
        WalRecovery::Apply(scan, by_name, &orphans_, recovery, &counters));
    decode_threads = recovery.threads;
  }
  skipped_corrupt_ = counters.skipped_corrupt;
  ignored_unknown_fields_ = counters.ignored_unknown_fields;
  const uint64_t records = scan.records.size();
  uint64_t file_bytes = scan.valid_bytes;
  const absl::Time decode_done = absl::Now();
  contents.reset();  // unmap before the file changes

  if (scan.needs_header) {
    if (scan.torn_bytes > 0) {
      Log(LogLevel::kWarning,
          absl::StrCat(path, " held only ", scan.torn_bytes,
                       " bytes of a header (a crash while it was created); "
                       "starting it again"));
    }
    PERSIST_ASSIGN_OR_RETURN(
        std::unique_ptr<WritableFile> fresh,
        file_system_->CreateEmpty(path, /*permissions_of=*/""));
    PERSIST_RETURN_IF_ERROR(fresh->Append(kWalHeader));
    PERSIST_RETURN_IF_ERROR(fresh->Sync());
    PERSIST_RETURN_IF_ERROR(fresh->Close());
    PERSIST_RETURN_IF_ERROR(file_system_->SyncDir(DirName(path)));
    file_bytes = kWalHeader.size();
    if (!exists) Log(LogLevel::kInfo, absl::StrCat("created ", path));
  } else if (scan.torn_bytes > 0) {
    PERSIST_RETURN_IF_ERROR(file_system_->Truncate(path, scan.valid_bytes));
    torn_tail_bytes_ = scan.torn_bytes;
    Log(LogLevel::kWarning,
        absl::StrCat("cut a torn tail of ", scan.torn_bytes, " bytes from ",
                     path,
                     " (an incomplete last record, the usual trace of "
                     "a crash while writing); ",
                     records, " complete records kept"));
  }
  PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                           file_system_->OpenForAppend(path));
  context_->queue = std::make_unique<GroupCommitQueue>(
      std::move(file), file_bytes, records, [this](const absl::Status& error) {
        Log(LogLevel::kError, absl::StrCat(options_.path, ": ", error.message()));
        if (options_.on_write_failure) options_.on_write_failure(error);
      });

  const absl::Duration took = absl::Now() - start;
  open_duration_ = took;
  const StoreStats stats = Stats();
  Log(LogLevel::kInfo,
      absl::StrFormat(
          "opened %s: %d records, %d live keys in %d maps, %d "
          "orphan keys of %d undeclared maps, %.1f MB in %s "
          "(%.0f MB/s: read %s, scan %s, decode on %d threads "
          "%s)",
          path, records, stats.live_keys, stats.maps.size(), stats.orphan_keys,
          stats.orphan_maps, file_bytes / 1e6, absl::FormatDuration(took),
          file_bytes / 1e6 / std::max(absl::ToDoubleSeconds(took), 1e-6),
          absl::FormatDuration(read_done - start),
          absl::FormatDuration(scan_done - read_done), decode_threads,
          absl::FormatDuration(decode_done - scan_done)));
  if (counters.skipped_corrupt > 0 && options_.auto_shrink.enabled) {
    Log(LogLevel::kWarning,
        absl::StrCat(
            "auto-shrink is off for this open: ", counters.skipped_corrupt,
            " damaged records were skipped and stay in the file "
            "until an explicit Shrink"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<DynamicMap>> Store::NewMap(
    absl::string_view name, const google::protobuf::Descriptor* type) {
  const google::protobuf::Message* prototype =
      type->file()->pool() == google::protobuf::DescriptorPool::generated_pool()
          ? google::protobuf::MessageFactory::generated_factory()->GetPrototype(
                type)
          : dynamic_factory_.GetPrototype(type);
  if (prototype == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no message class for ", type->full_name(), " (map \"", name, "\")"));
  }
  return std::unique_ptr<DynamicMap>(new DynamicMap(
      context_.get(), std::string(name), type, prototype, shards_per_map_));
}

absl::Status Store::WrongTypeError(const DynamicMap& map,
                                   const google::protobuf::Descriptor* type) {
  return absl::InvalidArgumentError(
      absl::StrCat("map \"", map.name(), "\" holds ", map.type()->full_name(),
                   ", not ", type->full_name()));
}

absl::StatusOr<DynamicMap*> Store::DeclareMap(
    absl::string_view name, const google::protobuf::Descriptor* type) {
  PERSIST_RETURN_IF_ERROR(ValidateMapName(name));
  if (type == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("map \"", name, "\" is declared without a type"));
  }
  // shrink_mu_ keeps declarations and Shrinks one at a time, so the
  // orphans cannot change under us; maps_mu_ is held only to look and to
  // publish, not while orphans are decoded.
  MutexLock shrink_lock(&shrink_mu_);
  PERSIST_RETURN_IF_ERROR(context_->CheckOpen());
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
  PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<DynamicMap> map, NewMap(name, type));
  RecoveryCounters counters;
  if (!orphans.empty()) {
    RecoveryOptions recovery;
    recovery.path = options_.path;
    recovery.skip_corrupt = options_.recovery == RecoveryMode::kSkipCorrupt;
    recovery.threads = std::max(
        1, options_.recovery_threads > 0
               ? options_.recovery_threads
               : static_cast<int>(std::thread::hardware_concurrency()));
    recovery.log = options_.log;
    PERSIST_RETURN_IF_ERROR(
        WalRecovery::Adopt(orphans, map.get(), recovery, &counters));
    skipped_corrupt_ += counters.skipped_corrupt;
    ignored_unknown_fields_ += counters.ignored_unknown_fields;
    Log(LogLevel::kInfo,
        absl::StrCat("map \"", name, "\" declared: adopted ", counters.records,
                     " records kept for it since the file was opened"));
  }
  DynamicMap* const raw = map.get();
  MutexLock lock(&maps_mu_);
  orphans_.Drop(name);
  maps_[name] = std::move(map);
  return raw;
}

absl::StatusOr<DynamicMap*> Store::GetMap(absl::string_view name) const {
  PERSIST_RETURN_IF_ERROR(context_->CheckOpen());
  ReaderMutexLock lock(&maps_mu_);
  auto it = maps_.find(name);
  if (it == maps_.end()) {
    return absl::NotFoundError(
        absl::StrCat("no map \"", name, "\" is declared in ", options_.path,
                     "; declare it (name and message type) first"));
  }
  return it->second.get();
}

std::vector<DynamicMap*> Store::Maps() const {
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

StoreStats Store::Stats() const {
  StoreStats stats;
  for (const DynamicMap* map : Maps()) {
    stats.maps.push_back({map->name(), map->type()->full_name(), map->Size()});
    stats.live_keys += map->Size();
  }
  {
    ReaderMutexLock lock(&maps_mu_);
    stats.orphan_keys = orphans_.keys();
    stats.orphan_maps = orphans_.maps();
  }
  if (context_->queue != nullptr) {
    const GroupCommitQueue::Counters counters = context_->queue->counters();
    stats.wal_records = counters.records;
    stats.file_bytes = counters.file_bytes;
    stats.wal_batches = counters.batches;
    stats.wal_syncs = counters.syncs;
    stats.wal_appended_bytes = counters.appended_bytes;
    stats.wal_batch_records = counters.batch_records;
    stats.wal_sync_seconds = counters.sync_seconds;
  }
  for (int i = 0; i < kDurabilityCount; ++i) {
    stats.writes[i] = context_->writes[i].load(std::memory_order_relaxed);
  }
  stats.shrink_failures = shrink_failures_.load();
  stats.shrink_seconds = shrink_seconds_.Snapshot();
  stats.shrinks = stats.shrink_seconds.count;  // one per completed Shrink
  stats.open_duration = open_duration_;
  stats.torn_tail_bytes = torn_tail_bytes_;
  stats.skipped_corrupt = skipped_corrupt_.load();
  stats.ignored_unknown_fields = ignored_unknown_fields_.load();
  stats.health = Health();
  return stats;
}

absl::Status Store::Health() const { return context_->CheckWritable(); }

void Store::StartFlush(absl::AnyInvocable<void(absl::Status)> done) {
  if (absl::Status status = context_->CheckOpen(); !status.ok()) {
    done(status);
    return;
  }
  for (DynamicMap* map : Maps()) map->FlushDirty();
  context_->queue->Sync(std::move(done));
}

absl::Status Store::Flush() {
  Notification flushed;
  absl::Status result;
  StartFlush([&](absl::Status status) {
    result = std::move(status);
    flushed.Notify();
  });
  flushed.WaitForNotification();
  return result;
}

absl::StatusOr<ShrinkResult> Store::Shrink() {
  MutexLock shrink_lock(&shrink_mu_);
  PERSIST_RETURN_IF_ERROR(context_->CheckWritable());
  std::vector<DynamicMap*> maps;
  std::string orphans;
  int64_t orphan_count = 0;
  {
    ReaderMutexLock lock(&maps_mu_);
    for (const auto& [name, map] : maps_) maps.push_back(map.get());
    orphan_count = orphans_.AppendTo(&orphans);
  }
  absl::StatusOr<ShrinkResult> result =
      Shrinker::Run(context_.get(), file_system_, maps, orphans, orphan_count);
  if (!result.ok()) {
    shrink_failures_.fetch_add(1);
    Log(LogLevel::kError, absl::StrCat("shrink of ", options_.path,
                                       " failed: ", result.status().message()));
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

void Store::MaybeAutoShrink() {
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
  (void)Shrink();  // logs its own outcome
}

void Store::RunBackground() {
  const bool auto_shrink = options_.auto_shrink.enabled;
  absl::Time next_sync = absl::Now() + options_.sync_interval;
  absl::Time next_check = absl::Now() + options_.auto_shrink.check_interval;
  for (;;) {
    {
      MutexLock lock(&background_mu_);
      for (;;) {
        if (background_stop_) return;
        const absl::Time next =
            auto_shrink ? std::min(next_sync, next_check) : next_sync;
        const absl::Duration wait = next - absl::Now();
        if (wait <= absl::ZeroDuration()) break;
        background_wake_.WaitWithTimeout(&background_mu_, wait);
      }
    }
    const absl::Time now = absl::Now();
    if (now >= next_sync) {
      // Write the ASYNC changes and fsync what WRITE left unsynced.
      for (DynamicMap* map : Maps()) map->FlushDirty();
      context_->queue->Sync(nullptr);
      next_sync = now + options_.sync_interval;
    }
    if (auto_shrink && now >= next_check) {
      MaybeAutoShrink();
      next_check = absl::Now() + options_.auto_shrink.check_interval;
    }
  }
}

absl::Status Store::Close() {
  MutexLock close_lock(&close_mu_);
  if (closed_) return close_status_;
  closed_ = true;
  context_->closed.store(true, std::memory_order_release);
  {
    MutexLock lock(&background_mu_);
    background_stop_ = true;
    background_wake_.Signal();
  }
  if (background_.joinable()) background_.join();
  MutexLock shrink_lock(&shrink_mu_);  // waits for a running Shrink
  if (context_->queue == nullptr) return close_status_;  // never opened
  const std::vector<DynamicMap*> maps = Maps();
  // A barrier: a write checks `closed` with its shard locked, so once every
  // shard has been locked here, no write can change memory any more.
  for (DynamicMap* map : maps) {
    for (int i = 0; i < map->shard_count_; ++i) {
      MutexLock lock(&map->shards_[i].mu);
    }
  }
  for (DynamicMap* map : maps) map->FlushDirty();
  Notification synced;
  context_->queue->Sync([&synced](absl::Status) { synced.Notify(); });
  synced.WaitForNotification();
  context_->queue->Stop();
  close_status_ = context_->queue->health();
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
