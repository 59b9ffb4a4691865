#include "storage/internal/wal_loader.h"

#include <algorithm>
#include <bit>
#include <thread>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "storage/names.h"

namespace persist {
namespace {

constexpr int kMaxShardsPerMap = 4096;

}  // namespace

absl::Status ValidateStoreOptions(const StoreOptions& options) {
  if (options.path.empty()) {
    return absl::InvalidArgumentError(
        "StoreOptions.path is empty; give the WAL file's path");
  }
  if (options.expiry_interval <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "expiry_interval is ", absl::FormatDuration(options.expiry_interval),
        "; it must be positive (the default is 100ms)"));
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
    PERSIST_RETURN_IF_ERROR(ValidateMapDeclaration(map.name, map.type));
    for (size_t j = 0; j < i; ++j) {
      if (options.maps[j].name == map.name) {
        return absl::InvalidArgumentError(
            absl::StrCat("map \"", map.name, "\" is declared twice"));
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ValidateMapDeclaration(absl::string_view name,
                                    const google::protobuf::Descriptor* type) {
  PERSIST_RETURN_IF_ERROR(ValidateMapName(name));
  if (type == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("map \"", name, "\" is declared without a type"));
  }
  return absl::OkStatus();
}

const Clock& ClockOf(const StoreOptions& options) {
  return options.clock != nullptr ? *options.clock : RealClock();
}

FileSystem* FileSystemOf(const StoreOptions& options) {
  return options.file_system != nullptr ? options.file_system
                                        : PosixFileSystem();
}

int ShardsPerMap(const StoreOptions& options) {
  if (options.shards_per_map > 0) return options.shards_per_map;
  // Enough shards that writers on every core rarely meet.
  const int cores =
      static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  return static_cast<int>(std::bit_ceil(
      static_cast<unsigned>(std::clamp(16 * cores, 64, kMaxShardsPerMap))));
}

RecoveryOptions MakeRecoveryOptions(const StoreOptions& options,
                                    const JsonCodec& codec, bool all_problems) {
  RecoveryOptions recovery;
  recovery.path = options.path;
  recovery.codec = &codec;
  recovery.threads =
      options.recovery_threads > 0
          ? options.recovery_threads
          : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  recovery.all_problems = all_problems;
  return recovery;
}

absl::StatusOr<const google::protobuf::Message*> PrototypeOf(
    absl::string_view map, const google::protobuf::Descriptor* type,
    google::protobuf::DynamicMessageFactory* factory) {
  const google::protobuf::Message* prototype =
      type->file()->pool() == google::protobuf::DescriptorPool::generated_pool()
          ? google::protobuf::MessageFactory::generated_factory()->GetPrototype(
                type)
          : factory->GetPrototype(type);
  if (prototype == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "no message class for ", type->full_name(), " (map \"", map, "\")"));
  }
  return prototype;
}

absl::StatusOr<WalLoad> LoadWal(
    const StoreOptions& options, FileSystem* file_system, bool all_problems,
    std::function<void(const WalRecord&, const google::protobuf::Message&)>
        inspect) {
  WalLoad load;
  absl::StatusOr<std::unique_ptr<FileContents>> read =
      file_system->ReadFile(options.path);
  if (!read.ok() && !absl::IsNotFound(read.status())) return read.status();
  load.existed = read.ok();
  if (load.existed) load.contents = *std::move(read);

  load.changes = std::make_unique<ChangeHistory>(
      RevisionClock::RandomEpoch(), options.history, options.on_change);
  load.factory = std::make_unique<google::protobuf::DynamicMessageFactory>();
  JsonCodecOptions codec_options;
  codec_options.any_type_pool = options.any_type_pool;
  codec_options.ignore_unknown_fields = options.ignore_unknown_fields;
  load.codec = std::make_unique<JsonCodec>(codec_options);

  const int shards = ShardsPerMap(options);
  absl::flat_hash_map<std::string, RecoveryTarget> targets;
  for (const MapDeclaration& declaration : options.maps) {
    LoadedMap map;
    map.type = declaration.type;
    PERSIST_ASSIGN_OR_RETURN(
        map.prototype,
        PrototypeOf(declaration.name, declaration.type, load.factory.get()));
    map.entries = std::make_unique<ShardedMap>(declaration.name, *load.changes,
                                               ClockOf(options), shards);
    targets[declaration.name] = {map.prototype, map.entries.get()};
    load.maps.push_back(std::move(map));
  }
  RecoveryOptions recovery =
      MakeRecoveryOptions(options, *load.codec, all_problems);
  recovery.inspect = std::move(inspect);
  PERSIST_ASSIGN_OR_RETURN(
      load.recovered,
      RecoverWal(load.contents ? load.contents->data() : absl::string_view(),
                 targets, &load.orphans, recovery));
  return load;
}

absl::Status OpenVerdict(const StoreOptions& options,
                         const std::vector<WalProblem>& problems) {
  if (problems.empty() || options.recovery == RecoveryMode::kSkipCorrupt) {
    return absl::OkStatus();
  }
  return CorruptionError(options.path, problems.front());
}

}  // namespace persist
