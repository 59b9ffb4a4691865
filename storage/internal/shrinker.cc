#include "storage/internal/shrinker.h"

#include <algorithm>
#include <memory>
#include <utility>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"
#include "storage/internal/store_context.h"
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

absl::StatusOr<ShrinkResult> Shrinker::Run(StoreContext* context,
                                           FileSystem* file_system,
                                           const std::vector<DynamicMap*>& maps,
                                           const std::string& orphans,
                                           int64_t orphan_count) {
  const absl::Time start = absl::Now();
  GroupCommitQueue& queue = *context->queue;
  PERSIST_RETURN_IF_ERROR(queue.health());
  ShrinkResult result;
  const GroupCommitQueue::Counters before = queue.counters();
  result.bytes_before = before.file_bytes;
  result.records_before = before.records;

  const std::string temp_path = TempPath(context->path);
  PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> temp,
                           file_system->CreateEmpty(temp_path, context->path));
  queue.BeginCapture();
  bool swapped = false;
  absl::Cleanup undo = [&] {
    if (swapped) return;
    queue.EndCapture();
    (void)temp->Close();
    (void)file_system->Remove(temp_path);
  };

  uint64_t bytes = 0;
  uint64_t records = 0;
  std::string buffer(kWalHeader);
  auto drain = [&]() -> absl::Status {
    PERSIST_RETURN_IF_ERROR(temp->Append(buffer));
    bytes += buffer.size();
    buffer.clear();
    return absl::OkStatus();
  };
  buffer += orphans;
  records += static_cast<uint64_t>(orphan_count);
  std::string json;
  for (DynamicMap* map : maps) {
    PERSIST_RETURN_IF_ERROR(
        map->ForEachShardSnapshot([&](const auto& snapshot) -> absl::Status {
          for (const auto& [key, value] : snapshot) {
            json.clear();
            // Values were encoded once when written; this cannot fail
            // unless the codec changed its mind, which is an error.
            if (absl::Status s = context->codec.Encode(*value, &json);
                !s.ok()) {
              return absl::InternalError(
                  absl::StrCat("shrink: map \"", map->name(), "\" key \"", key,
                               "\" cannot be written as JSON: ", s.message()));
            }
            AppendSetRecord(map->name(), key, json, &buffer);
            ++records;
            if (buffer.size() >= kWriteChunkBytes) {
              PERSIST_RETURN_IF_ERROR(drain());
            }
          }
          return absl::OkStatus();
        }));
  }
  PERSIST_RETURN_IF_ERROR(drain());

  // Catch up with the writes that arrived meanwhile.
  for (int round = 0; round < kCatchUpRounds; ++round) {
    std::string captured = queue.TakeCaptured();
    records += static_cast<uint64_t>(
        std::count(captured.begin(), captured.end(), '\n') / 2);
    PERSIST_RETURN_IF_ERROR(temp->Append(captured));
    bytes += captured.size();
    if (captured.size() < kSmallEnoughToPause) break;
  }

  // The bulk of the new file goes to disk while writes go on; the pause
  // below then syncs only the last captured bytes.
  PERSIST_RETURN_IF_ERROR(temp->Sync());

  WritableFile* const temp_file = temp.get();
  const std::string dir = DirName(context->path);
  swapped = true;  // SwapFile ends capturing whatever happens
  bool renamed = false;
  const absl::Status swap = queue.SwapFile(
      std::move(temp), bytes, records,
      [&](absl::string_view remaining) -> GroupCommitQueue::FinishResult {
        GroupCommitQueue::FinishResult finish;
        finish.status = temp_file->Append(remaining);
        if (finish.status.ok()) finish.status = temp_file->Sync();
        if (finish.status.ok()) {
          finish.status = file_system->Rename(temp_path, context->path);
          finish.renamed = renamed = finish.status.ok();
        }
        if (finish.renamed) finish.status = file_system->SyncDir(dir);
        return finish;
      });
  if (!swap.ok()) {
    // Before the rename: the old WAL is intact; drop the new file.
    if (!renamed) (void)file_system->Remove(temp_path);
    return swap;
  }
  const GroupCommitQueue::Counters after = queue.counters();
  result.bytes_after = after.file_bytes;
  result.records_after = after.records;
  result.duration = absl::Now() - start;
  return result;
}

}  // namespace persist
