#include "storage/internal/shrinker.h"

#include <algorithm>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "storage/internal/wal_format.h"

namespace persist {
namespace {

constexpr size_t kWriteChunkBytes = 1 << 20;
// Rounds of appending captured records before pausing the writer; each
// round should leave less to copy while it is paused.
constexpr int kCatchUpRounds = 3;
constexpr size_t kSmallEnoughToPause = 64 << 10;

}  // namespace

std::string Shrinker::TempPath(const std::string& wal_path) {
  return wal_path + ".shrink";
}

Shrinker::Shrinker(const Input& input)
    : input_(input), temp_path_(TempPath(input.path)) {}

absl::Status Shrinker::Failed(const absl::Status& status) const {
  // The WAL stopped meanwhile, or when the rename could not be made
  // durable: its own error (Unavailable) says so.
  if (input_.wal->failed()) return input_.wal->health();
  return absl::Status(
      status.code(),
      absl::StrCat("shrink of ", input_.path, " failed: ", status.message(),
                   ". The store still takes writes, on its old file."));
}

absl::Status Shrinker::Append(absl::string_view records, int64_t count) {
  PERSIST_RETURN_IF_ERROR(temp_->Append(records));
  bytes_ += records.size();
  records_ += static_cast<uint64_t>(count);
  return absl::OkStatus();
}

absl::Status Shrinker::WriteLiveState(uint64_t commit_seq) {
  std::string buffer(kWalHeader);
  buffer += input_.orphans;
  int64_t buffered = input_.orphan_count;
  std::string json;
  for (const ShardedMap* map : input_.maps) {
    PERSIST_RETURN_IF_ERROR(map->ForEachShardSnapshot(
        [&](const ShardedMap::ShardSnapshot& snapshot) -> absl::Status {
          for (const ShardedMap::SnapshotEntry& entry : snapshot) {
            const std::string& key = entry.key;
            json.clear();
            // Values were encoded once when written; this cannot fail
            // unless the codec changed its mind, which is an error.
            if (absl::Status s = input_.codec->Encode(*entry.value, &json);
                !s.ok()) {
              return absl::InternalError(
                  absl::StrCat("map \"", map->name(), "\" key \"", key,
                               "\" cannot be written as JSON: ", s.message()));
            }
            // Framed as a write frames them: no crash cuts the new file,
            // but a repair or a skip_corrupt open must not keep a value
            // whose expiry is damaged.
            if (entry.expires == kNoExpiry) {
              AppendSetRecord(map->name(), key, json, &buffer);
            } else {
              AppendBatchHeader(2, &buffer);
              AppendSetRecord(map->name(), key, json, &buffer);
              AppendExpireRecord(map->name(), key, entry.expires, &buffer);
            }
            ++buffered;
            if (buffer.size() >= kWriteChunkBytes) {
              PERSIST_RETURN_IF_ERROR(Append(buffer, buffered));
              buffer.clear();
              buffered = 0;
            }
          }
          return absl::OkStatus();
        }));
  }
  if (commit_seq != 0) AppendCommitRecord(commit_seq, &buffer);
  return Append(buffer, buffered);
}

absl::Status Shrinker::CatchUp() {
  for (int round = 0; round < kCatchUpRounds; ++round) {
    const std::string captured = input_.wal->TakeCaptured();
    PERSIST_RETURN_IF_ERROR(Append(captured, CountWalRecords(captured)));
    if (captured.size() < kSmallEnoughToPause) break;
  }
  // The bulk of the new file goes to disk while writes go on; the pause
  // then syncs only the last captured bytes.
  return temp_->Sync();
}

absl::Status Shrinker::Swap() {
  WritableFile* const temp_file = temp_.get();
  const std::string dir = DirName(input_.path);
  return input_.wal->SwapFile(
      std::move(temp_), bytes_, records_,
      [&](absl::string_view remaining) -> GroupCommitQueue::FinishResult {
        GroupCommitQueue::FinishResult finish;
        finish.status = temp_file->Append(remaining);
        if (finish.status.ok()) finish.status = temp_file->Sync();
        if (finish.status.ok()) {
          finish.status = input_.file_system->Rename(temp_path_, input_.path);
          finish.renamed = renamed_ = finish.status.ok();
        }
        if (finish.renamed) finish.status = input_.file_system->SyncDir(dir);
        return finish;
      });
}

absl::StatusOr<ShrinkResult> Shrinker::Run(const Input& input) {
  const absl::Time start = absl::Now();
  GroupCommitQueue& wal = *input.wal;
  PERSIST_RETURN_IF_ERROR(wal.health());
  Shrinker shrinker(input);
  ShrinkResult result;
  const GroupCommitQueue::Counters before = wal.counters();
  result.bytes_before = before.file_bytes;
  result.records_before = before.records;

  absl::StatusOr<std::unique_ptr<WritableFile>> temp =
      input.file_system->CreateEmpty(shrinker.temp_path_, input.path);
  if (!temp.ok()) return shrinker.Failed(temp.status());
  shrinker.temp_ = *std::move(temp);
  const uint64_t commit_seq = wal.BeginCapture();
  bool swapping = false;
  absl::Cleanup undo = [&] {
    // SwapFile ends capturing whatever happens.
    if (!swapping) wal.EndCapture();
    if (shrinker.temp_ != nullptr) (void)shrinker.temp_->Close();
    if (!shrinker.renamed_) {
      (void)input.file_system->Remove(shrinker.temp_path_);
    }
  };
  absl::Status status = shrinker.WriteLiveState(commit_seq);
  if (status.ok() && input.commit_snapshot) status = input.commit_snapshot();
  if (status.ok()) status = shrinker.CatchUp();
  if (!status.ok()) return shrinker.Failed(status);
  swapping = true;
  status = shrinker.Swap();
  if (!status.ok()) return shrinker.Failed(status);
  const GroupCommitQueue::Counters after = wal.counters();
  result.bytes_after = after.file_bytes;
  result.records_after = after.records;
  result.duration = absl::Now() - start;
  return result;
}

}  // namespace persist
