// Loading a data file into its declared maps, as Store::Open does: shared
// by Open (which then mends the file and starts writing) and by the offline
// check and repair (storage/check.h), so that all three decide alike.
#ifndef PERSIST_STORAGE_INTERNAL_WAL_LOADER_H_
#define PERSIST_STORAGE_INTERNAL_WAL_LOADER_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/dynamic_message.h"
#include "google/protobuf/message.h"
#include "json/json_codec.h"
#include "storage/file_system.h"
#include "storage/internal/change_history.h"
#include "storage/internal/orphan_records.h"
#include "storage/internal/sharded_map.h"
#include "storage/internal/wal_recovery.h"
#include "storage/store_options.h"

namespace persist {

// A declared map as loading leaves it.
struct LoadedMap {
  const google::protobuf::Descriptor* type = nullptr;
  const google::protobuf::Message* prototype = nullptr;
  std::unique_ptr<ShardedMap> entries;
};

struct WalLoad {
  bool existed = false;
  // The file's bytes: the records of `recovered.scan` point into them.
  std::unique_ptr<FileContents> contents;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory;
  // After factory (it may hold values of its types), before maps.
  std::unique_ptr<ChangeHistory> changes;  // and the revisions
  std::unique_ptr<JsonCodec> codec;
  std::vector<LoadedMap> maps;  // in options.maps' order
  OrphanRecords orphans;
  Recovered recovered;
};

// Reads options.path through `file_system` and recovers it into the
// declared maps. With `all_problems`, every damaged record is found (and
// skipped); else only enough to know the first. `inspect`, if set, sees
// every value decoded (RecoveryOptions::inspect).
absl::StatusOr<WalLoad> LoadWal(
    const StoreOptions& options, FileSystem* file_system, bool all_problems,
    std::function<void(const WalRecord&, const google::protobuf::Message&)>
        inspect = nullptr);

// What Open answers for `problems`: OK, or under strict recovery the
// DataLoss error of the first.
absl::Status OpenVerdict(const StoreOptions& options,
                         const std::vector<WalProblem>& problems);

// InvalidArgument naming what is wrong with `options`.
absl::Status ValidateStoreOptions(const StoreOptions& options);
// InvalidArgument naming what is wrong with one map's declaration (its
// name, or no type), at open or by DeclareMap.
absl::Status ValidateMapDeclaration(absl::string_view name,
                                    const google::protobuf::Descriptor* type);

// The clock `options` asks for: its own, or RealClock().
const Clock& ClockOf(const StoreOptions& options);
// The file layer `options` asks for: its own, or the real one.
FileSystem* FileSystemOf(const StoreOptions& options);

// The shards of a map, and the threads that decode, for `options`.
int ShardsPerMap(const StoreOptions& options);
RecoveryOptions MakeRecoveryOptions(const StoreOptions& options,
                                    const JsonCodec& codec, bool all_problems);
// The message class of `type`'s values: the generated one, or one made by
// `factory`. InvalidArgument naming the map if there is none.
absl::StatusOr<const google::protobuf::Message*> PrototypeOf(
    absl::string_view map, const google::protobuf::Descriptor* type,
    google::protobuf::DynamicMessageFactory* factory);

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_WAL_LOADER_H_
