// Splits a WAL file's bytes into records (the format is in wal_format.h).
//
// This is the structural half of recovery: it finds the header, the records,
// the lines that are no record, and a torn tail. Whether a record's JSON
// fits its map's type is decided later, when it is decoded
// (wal_recovery.h).
#ifndef PERSIST_STORAGE_INTERNAL_WAL_READER_H_
#define PERSIST_STORAGE_INTERNAL_WAL_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/internal/wal_format.h"

namespace persist {

// The `map` of a record whose key has no ':': go-persist's untyped store
// (store.Set) writes those. It is no map name (map names have no parens), so
// such records stay orphans, kept verbatim, even where the map with the
// empty name (go-persist's single map, "S :key") is declared.
inline constexpr absl::string_view kUntypedStoreMap = "(untyped)";

// One record; the views point into the scanned bytes.
struct WalRecord {
  RecordKind kind;
  absl::string_view record_key;  // "map:key" as written
  // Before the first ':'; kUntypedStoreMap if there is none.
  absl::string_view map;
  absl::string_view key;  // after the first ':'; all if there is none
  // The value line: a set's JSON, an expiry's time; "" for a delete.
  absl::string_view json;
  int64_t line;     // 1-based line number of "S ..." / "D ..."
  uint64_t offset;  // byte offset of that line in the file
  uint64_t size;    // bytes of the record, both lines
  // Its index in WalScan::batches if it belongs to a batch, else -1.
  int64_t batch = -1;

  // Where its second line (the value) starts: after "S " or "D ", the
  // record key and '\n'.
  uint64_t value_offset() const { return offset + record_key.size() + 3; }
};

// Damage before the tail: a line that is no record, or a record whose key
// or value does not fit its map (found when decoding).
struct WalProblem {
  int64_t line;     // 1-based
  uint64_t offset;  // of the line's first byte
  // What is wrong, naming the map and key when there is a record.
  std::string reason;
  // Set for a record that did not decode: its index in WalScan::records.
  // -1 for a line that is no record at all.
  int64_t record = -1;
};

// A batch header "B <count>" and what followed it.
struct WalBatch {
  int64_t line;          // of the "B" line
  uint64_t offset;       // of that line
  int64_t count;         // records it announced
  int64_t first_record;  // index in WalScan::records of its first record
  // Damage inside it: a line that is no record, a batch header before its
  // records ended, or the end of the file after damage. Recovery drops a
  // damaged batch whole (wal_recovery.h).
  bool damaged = false;
  // Where its first damage is, when damaged.
  int64_t damage_line = 0;
  uint64_t damage_offset = 0;
};

// A commit record "C <seq>" (wal_format.h).
struct WalCommit {
  int64_t line;     // of the "C" line
  uint64_t offset;  // of that line
  uint64_t seq;
};

struct WalScan {
  std::vector<WalRecord> records;
  std::vector<WalBatch> batches;  // in file order
  // In file order, their seqs consecutive (a gap, or a commit record
  // inside a batch, is damage and not kept here).
  std::vector<WalCommit> commits;
  // The last commit's seq: the entries of the commit log the file holds,
  // 0 if it has no commit record.
  uint64_t last_commit_seq() const {
    return commits.empty() ? 0 : commits.back().seq;
  }
  // Of `records`, the expiry records: no changes, so counts of the WAL's
  // records leave them out (wal_format.h).
  int64_t expiry_records = 0;
  // Lines that are no record, in file order. Reading resumes at the next
  // line that can start a record, so that one damaged line never hides the
  // records after it.
  std::vector<WalProblem> problems;
  // Bytes of the header and the complete records. The rest of the file
  // (torn_bytes of it) is a torn tail to cut off.
  // A batch cut by the end of the file is torn whole: the tail starts at
  // its header, and its complete records (torn_batch_records of them) are
  // not in `records`.
  uint64_t valid_bytes = 0;
  uint64_t torn_bytes = 0;
  int64_t torn_batch_records = 0;
  // The file is empty or holds only part of the header (a crash while it
  // was being created): it gets a fresh header.
  bool needs_header = false;
};

// Scans `contents`, the bytes of the WAL at `path` (used in messages).
// FailedPrecondition if the first line is not the header: a file persist
// does not understand is refused, never rewritten.
absl::StatusOr<WalScan> ScanWal(absl::string_view contents,
                                absl::string_view path);

// The DataLoss error that refuses to open a file with `problem`, naming its
// path and line and saying what the user can do.
absl::Status CorruptionError(absl::string_view path, const WalProblem& problem);

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_WAL_READER_H_
