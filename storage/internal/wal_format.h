// The WAL format, go-persist's (DESIGN.md section 3):
//
//   go-persist 1\n              header, exactly this line
//   S <map>:<key>\n<json>\n     set: the key's value as one line of JSON
//   D <map>:<key>\n\n           delete: an empty second line
//   B <count>\n\n               batch: the next <count> records are one
//                               atomic batch (DESIGN.md section 3)
//   E <map>:<key>\n<time>\n     expiry of the key's value, an RFC 3339
//                               UTC time, right after its S record
//   C <seq>\n\n                 commit: a replicated store's records up to
//                               here hold the commit log's entries up to
//                               <seq> (DESIGN.md section 9)
//
// The map is everything before the first ':' of the record key, the key
// everything after it. Records are complete only when their second line
// ends with '\n'; an incomplete last record is a torn tail (a crash while
// appending), anything else malformed is corruption. Keys never contain a
// line break (names.h forbids control characters) and JSON is one line (the
// codec escapes line breaks), so every record is exactly two lines: record i
// starts on line 2 + 2i when nothing was skipped.
//
// A batch header is two lines too, so it keeps the two-line rhythm; go-persist
// skips it (it logs and ignores records that are neither S nor D) and reads
// the batch's records as plain ones. A batch cut by the end of the file is
// a torn tail as a whole: recovery applies a batch entirely or not at all.
//
// An expiry record belongs to the S record before it, of the same key: the
// two are written in one frame ("B 2", or the batch's), so that no crash
// leaves a value without its expiry. A later S without an E clears the
// expiry; an E whose key has no value (hand-edited files) changes nothing.
// go-persist skips E records, and never expires such keys. E records are
// no changes: WAL record counts (Stats, auto-shrink's ratio) leave them
// out, as they leave out batch headers.
//
// A commit record ends each entry of a replicated store's commit log
// (commit_log.h): the leader appends it to the batch it commits, so the log
// entry and the WAL get the same bytes, and a replica that restarts reads
// in its own file where it stands in the log. Shrink writes the seq its
// snapshot holds. It is written after the entry's last record, so that a
// crash cutting an entry leaves the seq before it (re-applying an entry's
// records gives the same state). Seqs start at 1 and follow each other;
// commit records stand outside batch frames. go-persist skips them too.
//
// Record keys without ':' are go-persist's untyped store (`S config`); they
// and the records of maps that are not declared are kept as orphans.
#ifndef PERSIST_STORAGE_INTERNAL_WAL_FORMAT_H_
#define PERSIST_STORAGE_INTERNAL_WAL_FORMAT_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "storage/batch.h"

namespace persist {

inline constexpr absl::string_view kWalHeaderLine = "go-persist 1";
inline constexpr absl::string_view kWalHeader = "go-persist 1\n";

enum class RecordKind { kSet, kDelete, kExpire };

// The most records one batch header may announce: more is damage, not a
// batch (the service allows far fewer per call).
inline constexpr int64_t kMaxBatchRecords = kMaxBatchOperations;

// Appends "S <map>:<key>\n<json>\n" to `*out`.
void AppendSetRecord(absl::string_view map, absl::string_view key,
                     absl::string_view json, std::string* out);
// Appends "D <map>:<key>\n\n" to `*out`.
void AppendDeleteRecord(absl::string_view map, absl::string_view key,
                        std::string* out);
// Appends "E <map>:<key>\n<time>\n" for an expiry of `nanos` (expiry.h).
void AppendExpireRecord(absl::string_view map, absl::string_view key,
                        int64_t nanos, std::string* out);
// The same for a record key kept verbatim (orphans): "S <record_key>\n...".
void AppendRecord(RecordKind kind, absl::string_view record_key,
                  absl::string_view json, std::string* out);

// Appends "B <count>\n\n": the header of a batch of `count` records, which
// the caller appends next.
void AppendBatchHeader(int64_t count, std::string* out);

// Appends "C <seq>\n\n": the end of commit log entry `seq` (>= 1).
void AppendCommitRecord(uint64_t seq, std::string* out);

// Records in `records`, whole records as the WAL writes them: two lines
// each. Batch headers, expiry and commit records (two lines too) are not
// counted, as recovery does not count them.
int64_t CountWalRecords(absl::string_view records);

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_WAL_FORMAT_H_
