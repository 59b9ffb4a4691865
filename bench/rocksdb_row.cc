// RocksDB as a row of the seed scenario: its WAL on, unsynced by default
// (sync=false), or every write synced.
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "bench/kv_rows.h"
#include "rocksdb/db.h"
#include "rocksdb/options.h"

namespace persist::bench {
namespace {

absl::Status FromRocks(const rocksdb::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::InternalError(absl::StrCat("rocksdb: ", status.ToString()));
}

class RocksDbRow final : public Row {
 public:
  RocksDbRow(std::unique_ptr<rocksdb::DB> db, std::string dir, bool sync,
             const ScenarioValues& values)
      : db_(std::move(db)), dir_(std::move(dir)), values_(values) {
    write_.sync = sync;
  }
  absl::Status Put(absl::string_view key, int64_t i, bool updated) override {
    const std::string bytes = values_.Serialize(i, updated);
    return FromRocks(
        db_->Put(write_, rocksdb::Slice(key.data(), key.size()), bytes));
  }
  absl::Status Get(absl::string_view key, bool* found) override {
    thread_local std::string bytes;
    const rocksdb::Status status = db_->Get(
        rocksdb::ReadOptions(), rocksdb::Slice(key.data(), key.size()), &bytes);
    if (status.IsNotFound()) {
      *found = false;
      return absl::OkStatus();
    }
    *found = status.ok() && values_.Parse(bytes);
    return FromRocks(status);
  }
  absl::Status Finish() override {
    return FromRocks(db_->FlushWAL(write_.sync));
  }
  uint64_t FileBytes() override { return DirectoryBytes(dir_); }

 private:
  const std::unique_ptr<rocksdb::DB> db_;
  const std::string dir_;
  const ScenarioValues& values_;
  rocksdb::WriteOptions write_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<Row>> MakeRocksDbRow(
    const std::string& dir, bool sync, const ScenarioValues& values) {
  rocksdb::Options options;
  options.create_if_missing = true;
  options.IncreaseParallelism();
  const std::string path = absl::StrCat(dir, "/rocksdb");
  rocksdb::DB* db = nullptr;
  if (absl::Status s = FromRocks(rocksdb::DB::Open(options, path, &db));
      !s.ok()) {
    return s;
  }
  return std::unique_ptr<Row>(
      new RocksDbRow(std::unique_ptr<rocksdb::DB>(db), path, sync, values));
}

}  // namespace persist::bench
