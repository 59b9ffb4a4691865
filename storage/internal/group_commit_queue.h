// GroupCommitQueue: the one writer of the WAL file (DESIGN.md section 5).
//
// Writers never call write(2) or fsync themselves. They queue complete
// records; the queue's thread takes everything queued as one batch, writes
// it with one write, and when any waiter in the batch asked for FSYNC, syncs
// it with one fdatasync. WRITE waiters are completed as soon as the write
// returned, FSYNC waiters once the sync returned. Concurrent FSYNC writers
// therefore share each fsync, and records reach the file in queue order.
//
// Failure: the first failed write or sync stops the queue for good. That
// batch's waiters and every later one complete with the error; nothing is
// written again, and a failed fsync is never retried as if it had not
// happened (the kernel may have dropped the unsynced pages).
//
// Shrink support: while capturing, every batch written is also kept in
// memory, so Shrink can append what arrived during its snapshot to the new
// file and then swap files with the writer paused.
//
// Thread-safety: all methods may be called from any thread. Completion
// callbacks run on the queue's thread, without any queue lock held; they
// must not block on the queue. Lock order: callers may hold their own locks
// (the map shards do) when calling Enqueue.
#ifndef PERSIST_STORAGE_INTERNAL_GROUP_COMMIT_QUEUE_H_
#define PERSIST_STORAGE_INTERNAL_GROUP_COMMIT_QUEUE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "storage/durability.h"
#include "storage/file_system.h"
#include "base/histogram.h"
#include "base/mutex.h"

namespace persist {

class GroupCommitQueue {
 public:
  using Done = absl::AnyInvocable<void(absl::Status)>;

  struct Counters {
    uint64_t file_bytes = 0;  // bytes in the WAL file, header included
    uint64_t records = 0;     // records in the WAL file
    uint64_t batches = 0;     // writes since open
    uint64_t syncs = 0;       // fdatasyncs since open
    uint64_t appended_bytes = 0;       // bytes written since open
    HistogramSnapshot batch_records;   // records per batch written
    HistogramSnapshot sync_seconds;    // how long each fdatasync took
  };

  // Takes over `file`, which already holds `file_bytes` bytes and `records`
  // records, and starts the writer thread. `on_failure`, if set, runs once,
  // with the error that stopped the queue, on the thread that hit it (the
  // writer's, or SwapFile's caller), with no lock of the queue held, before
  // that batch's waiters complete. It must not wait for the queue.
  using FailureCallback = absl::AnyInvocable<void(const absl::Status&)>;
  GroupCommitQueue(std::unique_ptr<WritableFile> file, uint64_t file_bytes,
                   uint64_t records, FailureCallback on_failure = nullptr);
  // Stop()s if that has not happened.
  ~GroupCommitQueue();
  GroupCommitQueue(const GroupCommitQueue&) = delete;
  GroupCommitQueue& operator=(const GroupCommitQueue&) = delete;

  // Queues `records` (`count` complete records). `done`, if set, runs when
  // they reached `durability`: kWrite after the write, kFsync after the
  // sync; kAsync and kMemory never wait, so they take no `done`.
  void Enqueue(absl::string_view records, int count, Durability durability,
               Done done = nullptr);

  // `done` runs once everything queued before is on disk.
  void Sync(Done done);

  // OK, or the error that stopped the queue. failed() is the cheap check.
  absl::Status health() const;
  bool failed() const { return failed_.load(std::memory_order_acquire); }

  Counters counters() const;

  // Shrink: start keeping a copy of every batch written from now on.
  void BeginCapture();
  // The bytes captured since BeginCapture or the last TakeCaptured.
  std::string TakeCaptured();
  // With the writer paused between batches, calls `finish` with the bytes
  // captured and not yet taken. `finish` completes the new file at the WAL's
  // path (append, sync, rename, sync the folder) and says whether the rename
  // happened. If it did, the queue continues on `new_file`, which then holds
  // `new_file_bytes_before` + the remaining bytes; if the rename happened
  // but `finish` failed afterwards, the queue is stopped with that error
  // (the rename may not be durable). Capturing ends either way.
  struct FinishResult {
    absl::Status status;
    bool renamed = false;
  };
  absl::Status SwapFile(
      std::unique_ptr<WritableFile> new_file, uint64_t new_file_bytes_before,
      uint64_t new_records_before,
      absl::FunctionRef<FinishResult(absl::string_view remaining)> finish);
  // Ends capturing without swapping (Shrink failed before its swap).
  void EndCapture();

  // Writes and completes everything queued, then stops the thread. Later
  // Enqueue and Sync calls complete `done` at once, inline, with
  // FailedPrecondition: callers must not hold locks then (Store stops its
  // maps' writes before it stops the queue, so none reaches it).
  void Stop();

 private:
  struct Waiter {
    Durability durability;
    Done done;
  };

  void Run();
  // Marks the queue failed with `status` (first error wins).
  void Fail(const absl::Status& status);
  // Calls on_failure_ once the queue failed, the first time only. Called
  // with no lock held.
  void ReportFailure();
  absl::Status SwapFileLocked(
      std::unique_ptr<WritableFile> new_file, uint64_t new_file_bytes_before,
      uint64_t new_records_before,
      absl::FunctionRef<FinishResult(absl::string_view remaining)> finish)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(file_mu_);

  // Guards the queue. Held only briefly, also by callers holding shard locks.
  mutable Mutex mu_;
  CondVar work_;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  int64_t pending_records_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<Waiter> waiters_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;

  // Guards the file. Held by the writer thread while it writes or syncs a
  // batch, and by SwapFile. Never taken together with mu_.
  mutable Mutex file_mu_;
  std::unique_ptr<WritableFile> file_ ABSL_GUARDED_BY(file_mu_);
  bool capturing_ ABSL_GUARDED_BY(file_mu_) = false;
  std::string captured_ ABSL_GUARDED_BY(file_mu_);
  uint64_t synced_bytes_ ABSL_GUARDED_BY(file_mu_) = 0;

  FailureCallback on_failure_;  // called by ReportFailure only
  std::atomic<bool> failure_reported_{false};
  // The error that stopped the queue; a leaf lock.
  mutable Mutex failure_mu_;
  absl::Status failure_ ABSL_GUARDED_BY(failure_mu_);
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> file_bytes_;
  std::atomic<uint64_t> records_;
  std::atomic<uint64_t> appended_bytes_{0};
  // 1 to 4096 records; 100 us to 3.3 s. Their counts are the batches
  // written and the fdatasyncs.
  Histogram batch_records_{Histogram::ExponentialBounds(1, 2, 13)};
  Histogram sync_seconds_{Histogram::ExponentialBounds(0.0001, 2, 16)};

  Mutex join_mu_;  // serializes Stop() calls
  std::thread thread_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_GROUP_COMMIT_QUEUE_H_
