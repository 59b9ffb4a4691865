// StoreImpl::StartWrite: an atomic batch's checks, before ShardedMap's
// WriteBatch applies it (batch.h).
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "storage/internal/map_impl.h"
#include "storage/internal/store_impl.h"
#include "storage/internal/wal_format.h"

namespace persist {
namespace {

// An operation's place and key, for messages.
std::string OperationName(size_t index, const BatchOperation& operation) {
  return absl::StrCat(
      "operations[", index, "] (map \"",
      operation.map == nullptr ? "" : operation.map->name(), "\" key \"",
      absl::CHexEscape(absl::string_view(operation.key).substr(0, 200)), "\")");
}

absl::Status Prefixed(size_t index, const absl::Status& status) {
  return absl::Status(status.code(), absl::StrCat("operations[", index,
                                                  "]: ", status.message()));
}

}  // namespace

absl::StatusOr<MapImpl*> StoreImpl::BatchMap(const DynamicMap* map,
                                             size_t index) const {
  if (map == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("operations[", index, "] names no map"));
  }
  ReaderMutexLock lock(&maps_mu_);
  auto it = maps_.find(map->name());
  if (it == maps_.end() || it->second.get() != map) {
    return absl::InvalidArgumentError(
        absl::StrCat("operations[", index, "]: map \"", map->name(),
                     "\" is not a map of the store ", options_.path,
                     "; a batch writes the maps of one store"));
  }
  return it->second.get();
}

void StoreImpl::StartWrite(std::vector<BatchOperation> operations,
                           Durability durability, BatchCallback done) {
  if (absl::Status status = CheckOpen(); !status.ok()) {
    done(status);
    return;
  }
  if (operations.empty()) {
    done(absl::InvalidArgumentError("a batch needs at least one operation"));
    return;
  }
  if (durability != Durability::kWrite && durability != Durability::kFsync) {
    done(absl::InvalidArgumentError(absl::StrCat(
        "a batch is written at WRITE or FSYNC durability, not ",
        DurabilityName(durability),
        ": MEMORY and ASYNC changes reach the WAL key by key, later, so a "
        "crash could keep half of the batch")));
    return;
  }
  if (operations.size() > static_cast<size_t>(kMaxBatchRecords)) {
    done(absl::InvalidArgumentError(absl::StrCat(
        "a batch holds at most ", kMaxBatchRecords, " operations, not ",
        operations.size(), ": recovery refuses larger batch headers")));
    return;
  }
  const size_t n = operations.size();
  std::vector<MapImpl*> maps(n);
  std::vector<ShardedMap::Change> changes(n);
  absl::flat_hash_set<std::pair<const MapImpl*, absl::string_view>> keys;
  keys.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    absl::StatusOr<MapImpl*> map = BatchMap(operations[i].map, i);
    if (!map.ok()) {
      done(map.status());
      return;
    }
    maps[i] = *map;
    if (!keys.insert({*map, operations[i].key}).second) {
      done(absl::InvalidArgumentError(absl::StrCat(
          OperationName(i, operations[i]),
          " writes a key that an earlier operation of the batch writes; a "
          "batch may write each key once (merge the two operations)")));
      return;
    }
    if (absl::Status status = (*map)->PrepareBatch(operations[i], &changes[i]);
        !status.ok()) {
      done(Prefixed(i, status));
      return;
    }
  }
  // Each step decides through its map, with the batch's keys locked.
  struct Decider {
    const MapImpl* map;
    const BatchOperation* operation;
    ShardedMap::Change* change;
    absl::StatusOr<ShardedMap::Change*> operator()(
        const ShardedMap::Entry* current) const {
      return map->DecideBatch(current, *operation, change);
    }
  };
  std::vector<Decider> deciders;
  deciders.reserve(n);
  std::vector<ShardedMap::BatchStep> steps;
  steps.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    deciders.push_back({maps[i], &operations[i], &changes[i]});
    steps.push_back({&maps[i]->entries(), operations[i].key, deciders.back()});
  }
  ShardedMap::WriteBatch(*wal_, steps, durability, std::move(done));
}

}  // namespace persist
