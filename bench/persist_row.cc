// persist as a row of the seed scenario: one map in one store, each write
// at the row's durability, through the blocking API.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/status_macros.h"
#include "bench/kv_rows.h"
#include "storage/store.h"

namespace persist::bench {
namespace {

class PersistRow final : public Row {
 public:
  PersistRow(std::unique_ptr<Store> store, DynamicMap* map,
             Durability durability, const ScenarioValues& values)
      : store_(std::move(store)),
        map_(map),
        durability_(durability),
        values_(values) {}

  absl::Status Put(absl::string_view key, int64_t i, bool updated) override {
    WriteOptions options;
    options.durability = durability_;
    return map_->Set(key, values_.Make(i, updated), options).status();
  }
  void StartPut(absl::string_view key, int64_t i, bool updated,
                PutDone done) override {
    WriteOptions options;
    options.durability = durability_;
    map_->StartSet(
        key, values_.Make(i, updated), options,
        [done = std::move(done)](absl::StatusOr<WriteResult> result) mutable {
          done(result.status());
        });
  }
  absl::Status Get(absl::string_view key, bool* found) override {
    PERSIST_ASSIGN_OR_RETURN(Entry<google::protobuf::Message> entry,
                             map_->Get(key));
    *found = entry.found();
    return absl::OkStatus();
  }
  // The state go-persist's runs start from: its Async row prefills with
  // SetAsync, leaving every key dirty for the run's final flush to write;
  // its other rows prefill with records already in the file.
  absl::Status Prefill(int64_t keys) override {
    WriteOptions async;
    async.durability = Durability::kAsync;
    for (int64_t i = 0; i < keys; ++i) {
      PERSIST_RETURN_IF_ERROR(
          map_->Set(ScenarioKey(i), values_.Make(i, false), async).status());
    }
    return durability_ == Durability::kAsync ? absl::OkStatus()
                                             : store_->Flush();
  }
  absl::Status Finish() override {
    // ASYNC's promise is a flush within the sync interval: pay it here.
    return durability_ == Durability::kAsync ? store_->Flush()
                                             : absl::OkStatus();
  }
  uint64_t FileBytes() override { return store_->Stats().file_bytes; }
  std::string Describe() override {
    const StoreStats stats = store_->Stats();
    return absl::StrCat(stats.wal_records, " records in ", stats.wal_batches,
                        " writes, ", stats.wal_syncs, " fsyncs");
  }

 private:
  const std::unique_ptr<Store> store_;
  DynamicMap* const map_;
  const Durability durability_;
  const ScenarioValues& values_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Row>> MakePersistRow(
    const std::string& dir, Durability durability,
    const ScenarioValues& values) {
  StoreOptions options;
  options.path = absl::StrCat(dir, "/persist.wal");
  // The map with the empty name, as go-persist's OpenSingleMap in its
  // benchmark: both files then hold the same records ("S :key").
  options.maps = {{"", values.type()}};
  options.auto_shrink.enabled = false;  // measure writes, not compaction
  options.log = [](LogLevel level, absl::string_view message) {
    if (level != LogLevel::kInfo) StderrLogSink()(level, message);
  };
  PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<Store> store, Store::Open(options));
  PERSIST_ASSIGN_OR_RETURN(DynamicMap * map, store->GetMap(""));
  return std::unique_ptr<Row>(
      new PersistRow(std::move(store), map, durability, values));
}

}  // namespace persist::bench
