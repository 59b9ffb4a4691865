// Online Shrink (DESIGN.md section 5): rewrites the WAL as the live state.
//
//   1. The WAL queue starts capturing every batch it writes.
//   2. Each map is snapshotted shard by shard and written, with the orphans,
//      to "<path>.shrink" in the same folder, then the commit record of the
//      last commit log entry the old file held when capturing began, if
//      any (wal_format.h). A replicated store waits here until every change
//      the snapshot holds is committed (Input::commit_snapshot).
//   3. What the queue captured meanwhile is appended (a few rounds, while
//      writes go on).
//   4. With the WAL writer paused between batches: the last captured bytes
//      are appended, the new file is fsynced, renamed over the WAL, and the
//      folder is fsynced; the queue continues on the new file.
//
// Every change made before the snapshot of its shard is in the snapshot;
// every record written after capturing began is replayed after it, in
// order. So the new file ends, as the old one, with the commit log's
// entries up to the same one, and a replicated store's file never holds a
// change its log may lack. A crash at any step leaves the old file or the
// complete new one
// ("<path>.shrink" leftovers are removed at the next open). A failure before
// the rename leaves the store on its old file, healthy (the error keeps its
// cause's code and says so); a failure to sync the folder after the rename
// stops writes (the rename may not be durable).
#ifndef PERSIST_STORAGE_INTERNAL_SHRINKER_H_
#define PERSIST_STORAGE_INTERNAL_SHRINKER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/status/statusor.h"
#include "json/json_codec.h"
#include "storage/file_system.h"
#include "storage/internal/group_commit_queue.h"
#include "storage/internal/sharded_map.h"
#include "storage/store.h"

namespace persist {

class Shrinker {
 public:
  // What one Shrink rewrites. Everything must outlive the Shrinker; the
  // caller keeps the maps' list stable and runs one Shrink at a time.
  struct Input {
    std::string path;  // the WAL
    FileSystem* file_system = nullptr;
    GroupCommitQueue* wal = nullptr;
    const JsonCodec* codec = nullptr;
    std::vector<const ShardedMap*> maps;
    // The orphan records, already formatted (OrphanRecords::AppendTo),
    // `orphan_count` of them.
    std::string orphans;
    int64_t orphan_count = 0;
    // A replicated store's: returns once every change made so far is
    // committed and written to the WAL (ASYNC ones too), or the error
    // that keeps one out, which fails the Shrink. A change the log refused
    // stops the store, and must not survive in the new file.
    absl::AnyInvocable<absl::Status() const> commit_snapshot;
  };

  // The temporary file beside the WAL.
  static std::string TempPath(const std::string& wal_path);

  static absl::StatusOr<ShrinkResult> Run(const Input& input);

 private:
  explicit Shrinker(const Input& input);
  Shrinker(const Shrinker&) = delete;
  Shrinker& operator=(const Shrinker&) = delete;

  // Steps 2 to 4 of the file comment.
  // Ends with the commit record of `commit_seq` if it is not 0.
  absl::Status WriteLiveState(uint64_t commit_seq);
  absl::Status CatchUp();
  absl::Status Swap();
  // Appends to the new file, counting what it holds.
  absl::Status Append(absl::string_view records, int64_t count);
  // The error a failed Shrink returns: `status`'s code and words, saying
  // that the store goes on, on its old file; or the WAL's own error if it
  // stopped taking writes.
  absl::Status Failed(const absl::Status& status) const;

  const Input& input_;
  const std::string temp_path_;
  std::unique_ptr<WritableFile> temp_;
  uint64_t bytes_ = 0;
  uint64_t records_ = 0;
  bool renamed_ = false;
};

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_SHRINKER_H_
