// What a store's maps share with it: the codec, the WAL queue, the sequence
// counter and the open/closed state. Internal to storage/.
#ifndef PERSIST_STORAGE_INTERNAL_STORE_CONTEXT_H_
#define PERSIST_STORAGE_INTERNAL_STORE_CONTEXT_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/durability.h"
#include "storage/etag.h"
#include "storage/internal/group_commit_queue.h"
#include "json/json_codec.h"
#include "base/logger.h"

namespace persist {

struct StoreContext {
  StoreContext(std::string path, JsonCodecOptions codec_options, LogSink log,
               uint64_t epoch)
      : path(std::move(path)),
        codec(codec_options),
        log(std::move(log)),
        epoch(epoch) {}

  absl::Status CheckOpen() const {
    if (closed.load(std::memory_order_acquire)) {
      return absl::FailedPreconditionError(absl::StrCat(
          "the store ", path, " is closed; open it again to use it"));
    }
    return absl::OkStatus();
  }
  // Open and taking writes. Called with the key's shard locked, so that a
  // write either happens before Close's barrier or is refused.
  absl::Status CheckWritable() const {
    if (absl::Status status = CheckOpen(); !status.ok()) return status;
    if (queue == nullptr) {
      return absl::FailedPreconditionError(
          absl::StrCat("the store ", path, " is not open"));
    }
    if (queue->failed()) return queue->health();
    return absl::OkStatus();
  }
  uint64_t NextSequence() {
    return last_sequence.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  Etag MakeEtag(uint64_t sequence) const { return Etag{epoch, sequence}; }

  const std::string path;
  const JsonCodec codec;
  const LogSink log;
  const uint64_t epoch;
  // Set once the file is recovered, before any map takes writes.
  std::unique_ptr<GroupCommitQueue> queue;
  std::atomic<uint64_t> last_sequence{0};
  // Changes made by the maps' writes, by durability (Durability's order).
  std::array<std::atomic<uint64_t>, kDurabilityCount> writes{};
  std::atomic<bool> closed{false};
};

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_STORE_CONTEXT_H_
