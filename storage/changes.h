// Changes as Watch reads them: what each revision did (DESIGN.md
// section 5). The store keeps the most recent ones in memory, bounded by
// count and bytes (StoreOptions::history); Store::ReadChanges reads them.
#ifndef PERSIST_STORAGE_CHANGES_H_
#define PERSIST_STORAGE_CHANGES_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "google/protobuf/message.h"

namespace persist {

// One change: a set (value) or a delete (no value) of one key.
struct Change {
  uint64_t revision = 0;
  // The map's name; it stays valid while the store is open.
  absl::string_view map;
  std::string key;
  std::shared_ptr<const google::protobuf::Message> value;  // null: deleted
  // The last revision of the atomic batch the change belongs to (batch.h);
  // its own revision if it was no batch's. A reader that stops after a
  // change with batch_end > revision has half a batch.
  uint64_t batch_end = 0;
  // A delete made by the key's expiry (expiry.h), not by a write.
  bool expired = false;
  // A set's expiry; InfiniteFuture if none.
  absl::Time expires = absl::InfiniteFuture();
};

// Which changes a reader wants: those of one map whose keys start with
// `prefix`.
struct ChangeFilter {
  std::string map;
  std::string prefix;
};

// What one Store::ReadChanges call found.
struct ChangeRead {
  std::vector<Change> changes;  // those that match, in revision order
  // Every change below this revision has been looked at: read from here
  // next. Above the store's revision when there was nothing more to read.
  uint64_t next = 0;
};

// How much history the store keeps for readers of changes. The oldest
// changes go first once either bound is passed; a reader asking for one
// that is gone gets OutOfRange ("compacted"). The newest change is always
// kept.
//
// Off (0) by default in the engine: keeping changes costs every write a
// lock shared by all writers, and about 12% of an in-memory write's speed
// (bench/README.md). persistd turns it on (kServerMaxChanges), for Watch.
struct HistoryOptions {
  size_t max_changes = 0;
  // Counted as each change's key and WAL record, plus a fixed overhead.
  size_t max_bytes = 16 << 20;
};

// What persistd keeps unless told otherwise.
inline constexpr size_t kServerMaxChanges = 10000;

}  // namespace persist

#endif  // PERSIST_STORAGE_CHANGES_H_
