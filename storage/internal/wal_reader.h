// Splits a WAL file's bytes into records (the format is in wal_format.h).
//
// This is the structural half of recovery: it finds the header, the records
// and a torn tail. Whether a record's JSON fits its map's type is decided
// later, when it is decoded (recovery.h).
#ifndef PERSIST_STORAGE_INTERNAL_WAL_READER_H_
#define PERSIST_STORAGE_INTERNAL_WAL_READER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "storage/internal/wal_format.h"

namespace persist {

// One record; the views point into the scanned bytes.
struct WalRecord {
  RecordKind kind;
  absl::string_view record_key;  // "map:key" as written
  absl::string_view map;         // before the first ':'; "" if there is none
  absl::string_view key;         // after the first ':'; all if there is none
  absl::string_view json;        // the value line of a set; "" for a delete
  int64_t line;                  // 1-based line number of "S ..." / "D ..."
  uint64_t offset;               // byte offset of that line in the file
};

// A line skipped under skip_corrupt.
struct SkippedLine {
  int64_t line;
  uint64_t offset;  // of the line's first byte
  std::string reason;
};

struct WalScan {
  std::vector<WalRecord> records;
  // Bytes of the header and the complete records. The rest of the file
  // (torn_bytes of it) is a torn tail to cut off.
  uint64_t valid_bytes = 0;
  uint64_t torn_bytes = 0;
  // The file is empty or holds only part of the header (a crash while it
  // was being created): it gets a fresh header.
  bool needs_header = false;
  std::vector<SkippedLine> skipped;
};

// Scans `contents`, the bytes of the WAL at `path` (used in messages).
// Errors:
//   FailedPrecondition: the first line is not the header (a file persist
//     does not understand is refused, never rewritten).
//   DataLoss: a malformed record before the tail, naming its line; under
//     `skip_corrupt` such lines are skipped one at a time and listed in
//     `skipped` instead.
absl::StatusOr<WalScan> ScanWal(absl::string_view contents,
                                absl::string_view path, bool skip_corrupt);

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_WAL_READER_H_
