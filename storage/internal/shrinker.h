// Online Shrink (DESIGN.md section 5): rewrites the WAL as the live state.
//
//   1. The WAL queue starts capturing every batch it writes.
//   2. Each map is snapshotted shard by shard and written, with the orphans,
//      to "<path>.shrink" in the same folder.
//   3. What the queue captured meanwhile is appended (a few rounds, while
//      writes go on).
//   4. With the WAL writer paused between batches: the last captured bytes
//      are appended, the new file is fsynced, renamed over the WAL, and the
//      folder is fsynced; the queue continues on the new file.
//
// Every change made before the snapshot of its shard is in the snapshot;
// every record written after capturing began is replayed after it, in
// order. A crash at any step leaves the old file or the complete new one
// ("<path>.shrink" leftovers are removed at the next open). A failure before
// the rename leaves the store on its old file, healthy; a failure to sync
// the folder after the rename stops writes (the rename may not be durable).
#ifndef PERSIST_STORAGE_INTERNAL_SHRINKER_H_
#define PERSIST_STORAGE_INTERNAL_SHRINKER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "storage/dynamic_map.h"
#include "storage/file_system.h"
#include "base/logger.h"

namespace persist {

struct StoreContext;

struct ShrinkResult {
  uint64_t bytes_before = 0;
  uint64_t bytes_after = 0;
  uint64_t records_before = 0;
  uint64_t records_after = 0;
  absl::Duration duration;
};

class Shrinker {
 public:
  // The temporary file beside the WAL.
  static std::string TempPath(const std::string& wal_path);

  // `orphans` are the orphan records, already formatted (OrphanRecords::
  // AppendTo), `orphan_count` of them. The caller keeps the maps' list
  // stable and runs one Shrink at a time.
  static absl::StatusOr<ShrinkResult> Run(StoreContext* context,
                                          FileSystem* file_system,
                                          const std::vector<DynamicMap*>& maps,
                                          const std::string& orphans,
                                          int64_t orphan_count);
};

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_SHRINKER_H_
