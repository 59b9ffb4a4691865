// The rows of the seed scenario (seed_scenario.cc): persist at each
// durability, two hand-written in-memory maps, and two embedded persisted
// peers (RocksDB, LMDB), behind one small interface.
//
// Every row hands out typed records: the in-memory maps and persist keep
// decoded messages (std::shared_ptr<const Message>), the peers keep bytes
// and parse them on each read and serialize on each write, which is the
// work their users do.
#ifndef PERSIST_BENCH_KV_ROWS_H_
#define PERSIST_BENCH_KV_ROWS_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "storage/durability.h"

namespace persist::bench {

// The values of the scenario: go-persist's struct (field1, field2) or its
// plain string, as persist.bench.v1.SmallRecord or google.protobuf.Value.
class ScenarioValues {
 public:
  explicit ScenarioValues(bool strings) : strings_(strings) {}
  const google::protobuf::Descriptor* type() const;
  // The value of write number `i` (`updated` after the prefill), as
  // go-persist's benchmark writes it.
  std::shared_ptr<const google::protobuf::Message> Make(int64_t i,
                                                        bool updated) const;
  // For the peers: the same value in protobuf's binary form, and a parse.
  std::string Serialize(int64_t i, bool updated) const;
  bool Parse(absl::string_view bytes) const;

 private:
  const bool strings_;
};

// Thread-safety: Put and Get are called from many threads at once.
class Row {
 public:
  virtual ~Row() = default;
  virtual absl::Status Put(absl::string_view key, int64_t i, bool updated) = 0;
  virtual absl::Status Get(absl::string_view key, bool* found) = 0;
  // Put that may complete later: `done` runs exactly once with Put's
  // status, before StartPut returns or on another thread. Rows whose
  // writes wait (persist at WRITE and FSYNC) let their caller run other
  // work meanwhile, as a goroutine blocked in go-persist frees its thread.
  using PutDone = absl::AnyInvocable<void(absl::Status)>;
  virtual void StartPut(absl::string_view key, int64_t i, bool updated,
                        PutDone done) {
    done(Put(key, i, updated));
  }
  // Loads the keys before timing starts (fastest safe way for the row).
  virtual absl::Status Prefill(int64_t keys);
  // Called inside the timed section after the last operation: whatever the
  // row still owes (persist's ASYNC flush).
  virtual absl::Status Finish() { return absl::OkStatus(); }
  // Bytes on disk after Finish; 0 for in-memory rows.
  virtual uint64_t FileBytes() { return 0; }
  // Anything else worth printing after the run.
  virtual std::string Describe() { return ""; }
};

std::string ScenarioKey(int64_t i);  // "0", "1", ... as go-persist's bench

absl::StatusOr<std::unique_ptr<Row>> MakePersistRow(
    const std::string& dir, Durability durability,
    const ScenarioValues& values);
std::unique_ptr<Row> MakeAbslMutexMapRow(const ScenarioValues& values);
std::unique_ptr<Row> MakeSharedMutexMapRow(const ScenarioValues& values);
// RocksDB with its WAL on; `sync` makes every write wait for fsync.
absl::StatusOr<std::unique_ptr<Row>> MakeRocksDbRow(
    const std::string& dir, bool sync, const ScenarioValues& values);
// LMDB; without `sync` it runs with MDB_NOSYNC (commits not flushed).
absl::StatusOr<std::unique_ptr<Row>> MakeLmdbRow(const std::string& dir,
                                                 bool sync,
                                                 const ScenarioValues& values);

// Bytes of all files under `dir`.
uint64_t DirectoryBytes(const std::string& dir);

}  // namespace persist::bench

#endif  // PERSIST_BENCH_KV_ROWS_H_
