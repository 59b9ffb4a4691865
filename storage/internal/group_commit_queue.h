// GroupCommitQueue: the one writer of the WAL file (DESIGN.md section 5).
//
// Writers never call write(2) or fsync themselves. They queue complete
// records; the queue's thread takes what is queued as one batch (up to
// `max_batch_bytes`, cut between two Enqueue calls, never inside one),
// writes it with one write, and when any waiter in the batch asked for
// FSYNC, syncs it with one fdatasync. WRITE waiters are completed as soon as
// the write returned, FSYNC waiters once the sync returned. Concurrent FSYNC
// writers therefore share each fsync, and records reach the file in queue
// order.
//
// Failure: the first failed write or sync stops the queue for good. That
// batch's waiters and every later one complete with Unavailable, naming the
// I/O error; nothing is written again, and a failed fsync is never retried
// as if it had not happened (the kernel may have dropped the unsynced
// pages).
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
#include "base/histogram.h"
#include "base/mutex.h"
#include "storage/durability.h"
#include "storage/file_system.h"

namespace persist {

class GroupCommitQueue {
 public:
  using Done = absl::AnyInvocable<void(absl::Status)>;
  // Runs once, with the error that stopped the queue, on the thread that hit
  // it (the writer's, or SwapFile's caller), with no lock of the queue
  // held, before that batch's waiters complete. It must not wait for the
  // queue.
  using FailureCallback = absl::AnyInvocable<void(const absl::Status&)>;

  struct Options {
    // The bytes the file already holds (header included) and its records.
    uint64_t file_bytes = 0;
    uint64_t records = 0;
    // The most bytes one write takes, unless a single Enqueue is larger.
    size_t max_batch_bytes = 1 << 20;
    FailureCallback on_failure;
  };

  struct Counters {
    uint64_t file_bytes = 0;          // bytes in the WAL file, header included
    uint64_t records = 0;             // records in the WAL file
    uint64_t batches = 0;             // writes since open
    uint64_t syncs = 0;               // fdatasyncs since open
    uint64_t appended_bytes = 0;      // bytes written since open
    HistogramSnapshot batch_records;  // records per batch written
    HistogramSnapshot sync_seconds;   // how long each fdatasync took
  };

  // Takes over `file` and starts the writer thread.
  GroupCommitQueue(std::unique_ptr<WritableFile> file, Options options);
  // Stop()s if that has not happened.
  ~GroupCommitQueue();
  GroupCommitQueue(const GroupCommitQueue&) = delete;
  GroupCommitQueue& operator=(const GroupCommitQueue&) = delete;

  // Queues `records` (`count` complete records). `done`, if set, runs when
  // they reached `durability`: kWrite after the write, kFsync after the
  // sync; kAsync and kMemory never wait, so they take no `done`.
  void Enqueue(absl::string_view records, int64_t count, Durability durability,
               Done done = nullptr);

  // `done` runs once everything queued before is on disk.
  void Sync(Done done);

  // OK, or the Unavailable error that stopped the queue. failed() is the
  // cheap check.
  absl::Status health() const { return failure_.status(); }
  bool failed() const { return failure_.failed(); }

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
  // Unavailable: callers must not hold locks then (Store stops its maps'
  // writes before it stops the queue, so none reaches it).
  void Stop();

 private:
  // Records queued by one Enqueue (or none, for Sync), with their waiter.
  struct Segment {
    size_t end = 0;  // offset in pending_ just after its records
    int64_t records = 0;
    Durability durability = Durability::kAsync;
    Done done;
  };
  // One batch as the writer takes it.
  struct Batch {
    std::string bytes;
    int64_t records = 0;
    std::vector<Segment> segments;
    bool wants_sync = false;
  };

  // The first error that stopped the queue, kept for good: the one failure
  // state of the queue. Set takes the I/O error and keeps it as
  // Unavailable; Report hands it to the failure callback once.
  class Failure {
   public:
    void Set(const absl::Status& io_error);
    bool failed() const { return failed_.load(std::memory_order_acquire); }
    absl::Status status() const;
    // Calls `callback` with the error the first time only, once failed.
    void Report(FailureCallback& callback);

   private:
    std::atomic<bool> failed_{false};
    std::atomic<bool> reported_{false};
    mutable Mutex mu_;  // a leaf lock
    absl::Status status_ ABSL_GUARDED_BY(mu_);
  };

  void Run();
  // Waits for work; false once stopping with nothing left.
  bool TakeBatch(Batch* batch);
  // Writes the batch's bytes; returns OK or the queue's failure.
  absl::Status WriteBatch(const Batch& batch);
  // Syncs everything written so far; returns OK or the queue's failure.
  absl::Status SyncWritten();
  absl::Status SwapFileLocked(
      std::unique_ptr<WritableFile> new_file, uint64_t new_file_bytes_before,
      uint64_t new_records_before,
      absl::FunctionRef<FinishResult(absl::string_view remaining)> finish)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(file_mu_);

  const size_t max_batch_bytes_;

  // Guards the queue. Held only briefly, also by callers holding shard locks.
  mutable Mutex mu_;
  CondVar work_;
  std::string pending_ ABSL_GUARDED_BY(mu_);
  std::vector<Segment> segments_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;

  // Guards the file. Held by the writer thread while it writes or syncs a
  // batch, and by SwapFile. Never taken together with mu_.
  mutable Mutex file_mu_;
  std::unique_ptr<WritableFile> file_ ABSL_GUARDED_BY(file_mu_);
  bool capturing_ ABSL_GUARDED_BY(file_mu_) = false;
  std::string captured_ ABSL_GUARDED_BY(file_mu_);
  uint64_t synced_bytes_ ABSL_GUARDED_BY(file_mu_) = 0;

  FailureCallback on_failure_;  // called through failure_.Report only
  Failure failure_;
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
