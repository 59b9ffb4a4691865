// Offline check and repair of a data file, through Store::Open's own
// recovery (DESIGN.md section 3): what CheckStore says of a file is what
// opening it with the same options does, record for record.
//
//   persist::StoreOptions options;  // as the server opens the file
//   options.path = "data.wal";
//   options.maps = {{"users", example::v1::User::descriptor()}};
//   absl::StatusOr<persist::CheckReport> report = persist::CheckStore(options);
//   if (report.ok() && !report->verdict.ok()) {
//     // Store::Open(options) would refuse the file; the verdict says why.
//   }
//
// Neither call takes the data file's lock or writes to it: they may run
// beside a server that has the file open, and see it as it was when they
// read it.
//
// Thread-safety: both may be called from any thread.
#ifndef PERSIST_STORAGE_CHECK_H_
#define PERSIST_STORAGE_CHECK_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "storage/store.h"
#include "storage/store_options.h"

namespace persist {

// One record or line of the file that something is wrong with.
struct CheckFinding {
  int64_t line = 0;     // 1-based
  uint64_t offset = 0;  // of the line's first byte
  std::string reason;   // naming the map and key when there is a record
};

struct CheckReport {
  // What Store::Open with the same options answers: OK; DataLoss naming the
  // first damaged record (strict recovery); FailedPrecondition for a file
  // that is not a WAL. Under skip_corrupt, OK with the damage in `damaged`.
  absl::Status verdict;
  bool exists = false;  // a missing file opens as a new, empty store
  uint64_t file_bytes = 0;
  uint64_t torn_tail_bytes = 0;  // what the next open cuts
  int64_t records = 0;           // complete records, damaged ones included
  // A replica's file: the last commit log entry it holds (wal_format.h),
  // 0 if it has no commit record.
  uint64_t commit_seq = 0;
  // Live keys as the open leaves them: of each declared map, and of the
  // records kept for maps not declared (orphans, by map name; "(untyped)"
  // for go-persist's untyped store, whose keys name no map).
  std::vector<MapStats> maps;
  std::map<std::string, int64_t> orphan_keys;
  // Every damaged record or line, in file order: the first refuses a
  // strict open, all are skipped under skip_corrupt.
  std::vector<CheckFinding> damaged;
  // Records that go-persist cannot read, though persist can: a float or
  // double holding NaN or an infinity, which proto3 JSON writes as a string
  // and Go's JSON decoder refuses, so that go-persist cannot open the file.
  std::vector<CheckFinding> go_persist_unreadable;
  int64_t ignored_unknown_fields = 0;
  // A "<path>.shrink" left by a Shrink that did not finish (the next open
  // removes it; the WAL is complete without it).
  bool leftover_shrink_file = false;
};

// Reads options.path as Store::Open(options) would and reports. The only
// errors are those of reading the file (not found is a report with
// exists = false) and of invalid options.
absl::StatusOr<CheckReport> CheckStore(const StoreOptions& options);

struct RepairReport {
  int64_t records_kept = 0;
  int64_t records_dropped = 0;  // damaged, or after the first damage
  uint64_t bytes_written = 0;
};

// Writes to `out`, which must not exist, a copy of options.path that opens
// cleanly under strict recovery: its records up to the first damaged one,
// or under skip_corrupt every record that recovery can read, verbatim and
// in order, without the torn tail. The copy is fsynced, then checked
// (Internal if it would not open). The original is never touched.
absl::StatusOr<RepairReport> RepairStore(const StoreOptions& options,
                                         const std::string& out);

}  // namespace persist

#endif  // PERSIST_STORAGE_CHECK_H_
