// CommitLog: where a replicated store commits each batch of WAL records
// before it writes them to its own file (DESIGN.md section 9).
//
// The engine knows nothing of etcd or gRPC: replication/ implements this
// interface (a fenced transaction per batch), and a store opened with one
// (StoreOptions::commit_log) calls it from its group-commit writer. Each
// batch is the exact bytes the local WAL then receives, whole records
// only, numbered by consecutive sequence numbers from
// StoreOptions::first_commit_seq; a batch is never offered twice and never
// out of order.
//
// Append returns once the batch is durable in the log (WRITE and FSYNC
// writers are completed only after that), or with the error that keeps it
// out: a leader that lost its term, a log that cannot be reached. Any error
// stops the store's writes for good, as a failed fsync does: nothing it
// did not commit was acknowledged, and nothing is retried, since the batch
// may or may not be in the log. The store is then reopened (as a follower,
// when another replica leads).
//
// Thread-safety: Append is called by one thread at a time (the queue's
// leader), possibly a different one each time; it may block.
#ifndef PERSIST_STORAGE_COMMIT_LOG_H_
#define PERSIST_STORAGE_COMMIT_LOG_H_

#include <cstdint>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace persist {

class CommitLog {
 public:
  virtual ~CommitLog() = default;

  // Commits `records` as log entry `seq`. `records` holds whole WAL
  // records only; `count` is the number of changes (sets and deletes) they
  // make, not of lines: a set with its expiry, or a batch frame with its
  // records, counts its changes only.
  virtual absl::Status Append(uint64_t seq, absl::string_view records,
                              int64_t count) = 0;
};

}  // namespace persist

#endif  // PERSIST_STORAGE_COMMIT_LOG_H_
