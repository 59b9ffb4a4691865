// How a Store is opened.
#ifndef PERSIST_STORAGE_STORE_OPTIONS_H_
#define PERSIST_STORAGE_STORE_OPTIONS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "base/logger.h"
#include "google/protobuf/descriptor.h"
#include "storage/changes.h"
#include "storage/commit_log.h"
#include "storage/expiry.h"
#include "storage/file_system.h"

namespace persist {

// A map to declare while opening, so that its records are decoded as they
// are read. Maps can also be declared later (Store::DeclareMap).
struct MapDeclaration {
  std::string name;
  // The message type of every value. Must outlive the store.
  const google::protobuf::Descriptor* type = nullptr;
};

enum class RecoveryMode {
  // Damage before the last record refuses to open (the default).
  kStrict,
  // Skip damaged records, counting and logging each one. The file is not
  // rewritten; auto-shrink stays off so that skipped records stay in it
  // until an explicit Shrink.
  kSkipCorrupt,
};

struct AutoShrinkOptions {
  bool enabled = true;
  absl::Duration check_interval = absl::Minutes(1);
  // Shrink when WAL records / live keys reaches this ratio ...
  double ratio = 1.8;
  // ... and the file has at least this many bytes.
  uint64_t min_file_bytes = 16 << 20;
};

struct StoreOptions {
  // The WAL file. Created with its header if missing. A lock file
  // "<path>.lock" keeps a second process from opening it.
  std::string path;

  std::vector<MapDeclaration> maps;

  // How often the background flusher writes ASYNC changes and fsyncs.
  absl::Duration sync_interval = absl::Seconds(1);

  // How often the store deletes expired entries (expiry.h). They are
  // invisible to reads from their expiry on, whatever this is.
  absl::Duration expiry_interval = absl::Milliseconds(100);
  // What time it is, for expiry. nullptr: RealClock(). Must outlive the
  // store.
  const Clock* clock = nullptr;

  AutoShrinkOptions auto_shrink;

  RecoveryMode recovery = RecoveryMode::kStrict;

  // Skip (and count) JSON fields and enum names that the maps' types do not
  // have, instead of refusing the record.
  bool ignore_unknown_fields = false;

  // Shards per map, a power of two; 0 chooses from the core count.
  int shards_per_map = 0;

  // Threads decoding the WAL while opening; 0 uses every core.
  int recovery_threads = 0;

  // Resolves google.protobuf.Any types in values; nullptr: each map type's
  // own pool. Must outlive the store.
  const google::protobuf::DescriptorPool* any_type_pool = nullptr;

  // nullptr: PosixFileSystem(). Must outlive the store.
  FileSystem* file_system = nullptr;

  // nullptr: StderrLogSink().
  LogSink log;

  // Called once, when a failed write or fsync of the WAL stops writes
  // (Health() then returns the error), after the error is logged. Runs on
  // the WAL's writer thread, or the thread of a Shrink, holding no lock of
  // the WAL: it may read the store (Health, Stats, Get) but must not write
  // to it or wait for a write. persistd turns its health to NOT_SERVING.
  std::function<void(const absl::Status&)> on_write_failure;

  // The recent changes kept for Store::ReadChanges (Watch).
  HistoryOptions history;

  // Called after every change, on the writer's thread with the key's shard
  // still locked: it must be quick and must not call the store (persistd
  // wakes its watch streams).
  std::function<void()> on_change;

  // Replication (commit_log.h): every batch of WAL records, ended by its
  // commit record, is committed to this log, as entries first_commit_seq,
  // first_commit_seq + 1, ..., before the WAL file gets it, and MEMORY
  // writes are refused (they would never reach the log). nullptr: a store
  // of its own. Must outlive the store.
  CommitLog* commit_log = nullptr;
  // 0: the entry after the file's last commit record (1 for a file without
  // one). Another value must be that one, or the file must have no commit
  // record (FailedPrecondition otherwise).
  uint64_t first_commit_seq = 0;
};

}  // namespace persist

#endif  // PERSIST_STORAGE_STORE_OPTIONS_H_
