// GroupCommitQueue: the one way records reach the WAL file (DESIGN.md
// section 5).
//
// Writers queue complete records (Enqueue) and then, holding no lock, call
// Commit: a caller that finds the file idle becomes the leader, takes
// everything queued as one batch (up to `max_batch_bytes`, cut between two
// Enqueue calls, never inside one), writes it with one write(2) and
// completes the batch's WRITE waiters, its own among them (LevelDB's writer
// queue). Whatever others queued meanwhile it writes next, for a few
// rounds, then hands the rest to the queue's writer thread, so that no
// caller writes for long. A caller that finds a leader at work returns at
// once: the leader writes its records. So an uncontended WRITE costs no
// thread hand-off and no wake-up, and contended ones share each write.
//
// FSYNC waiters go to the sync thread once their batch is written. It runs
// one fdatasync for all waiters present, while leaders go on writing the
// next batches (the write of one batch overlaps the sync of the one
// before), and completes each waiter only once an fdatasync that began
// after its batch was written has returned. Concurrent FSYNC writers share
// each fsync; records reach the file in queue order. So that they keep
// sharing it (rather than splitting into two halves, each syncing while the
// other writes), the sync thread waits, before an fdatasync, until as many
// waiters are there as the last one completed, for at most a quarter of
// the last fdatasync's time; a lone writer never waits.
//
// Failure: the first failed write or sync stops the queue for good. That
// batch's waiters and every later one complete with Unavailable, naming the
// I/O error; nothing is written again, and a failed fsync is never retried
// as if it had not happened (the kernel may have dropped the unsynced
// pages).
//
// Shrink support: while capturing, every batch written is also kept in
// memory, so Shrink can append what arrived during its snapshot to the new
// file and then swap files with writes and syncs paused.
//
// Thread-safety: all methods may be called from any thread. Completion
// callbacks run on the thread of a Commit call (a caller's), the writer
// thread or the sync thread, without any queue lock held; they must not
// block on the queue. Enqueue may be called with the caller's own locks
// held (the map shards do); Commit and Sync may not.
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
#include "storage/commit_log.h"
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
    // The last commit log entry the file holds (its last commit record,
    // wal_format.h), 0 for none.
    uint64_t file_commit_seq = 0;
    // Replication (commit_log.h): each batch, ended by its commit record,
    // is committed there, as entry `first_commit_seq` (>= 1), then the
    // next, before it is written to the file. Must outlive the queue;
    // nullptr for a store of its own.
    CommitLog* commit_log = nullptr;
    uint64_t first_commit_seq = 1;
  };

  struct Counters {
    uint64_t file_bytes = 0;          // bytes in the WAL file, header included
    uint64_t records = 0;             // records in the WAL file
    uint64_t batches = 0;             // writes since open
    uint64_t syncs = 0;               // fdatasyncs since open
    uint64_t appended_bytes = 0;      // bytes written since open
    uint64_t next_commit_seq = 0;     // replicated: the next batch's seq
    uint64_t file_commit_seq = 0;     // the last entry in the file, 0: none
    HistogramSnapshot batch_records;  // records per batch written
    HistogramSnapshot sync_seconds;   // how long each fdatasync took
  };

  // Takes over `file` and starts the writer and sync threads.
  GroupCommitQueue(std::unique_ptr<WritableFile> file, Options options);
  // Stop()s if that has not happened.
  ~GroupCommitQueue();
  GroupCommitQueue(const GroupCommitQueue&) = delete;
  GroupCommitQueue& operator=(const GroupCommitQueue&) = delete;

  // Queues `records` (`count` complete records). `done`, if set, runs when
  // they reached `durability`: kWrite after the write, kFsync after the
  // sync; kAsync and kMemory never wait, so they take no `done`. Nothing
  // is written until someone calls Commit.
  void Enqueue(absl::string_view records, int64_t count, Durability durability,
               Done done = nullptr);

  // Writes what is queued if no other thread is writing (that one writes
  // it then). Call after Enqueue, with no lock held: the calling thread may
  // write the file and run other writers' completions.
  void Commit();

  // `done` runs once everything queued before is on disk. Calls Commit.
  void Sync(Done done);

  // OK, or the Unavailable error that stopped the queue. failed() is the
  // cheap check.
  absl::Status health() const { return failure_.status(); }
  bool failed() const { return failure_.failed(); }

  // Whether batches go to a commit log first (commit_log.h).
  bool replicated() const { return commit_log_ != nullptr; }

  Counters counters() const;

  // Shrink: start keeping a copy of every batch written from now on.
  // Returns the last commit log entry the file holds then (0: none): the
  // captured batches are the entries after it.
  uint64_t BeginCapture();
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

  // Calls `at` with the writer paused between two batches, and the bytes,
  // records and last commit log entry (0: none) the file holds then: every
  // batch written so far, none in part (Store::StartSnapshot). `at` must
  // be brief and must not call the queue; it may read the file.
  void AtBatchBoundary(
      absl::FunctionRef<void(uint64_t file_bytes, uint64_t records,
                             uint64_t commit_seq)>
          at);

  // Writes and completes everything queued, then stops the threads. Later
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
  // One batch as a leader takes it.
  struct Batch {
    std::string bytes;
    int64_t records = 0;
    std::vector<Segment> segments;
  };
  // An FSYNC waiter whose records are written up to `end` (an offset in the
  // current file).
  struct SyncWaiter {
    uint64_t end = 0;
    Done done;
  };

  // The first error that stopped the queue, kept for good: the one failure
  // state of the queue. Set takes the I/O error and keeps it as
  // Unavailable; Report hands it to the failure callback once.
  class Failure {
   public:
    void Set(const absl::Status& io_error);
    // The commit log refused a batch (commit_log.h).
    void SetCommitFailure(const absl::Status& error);
    bool failed() const { return failed_.load(std::memory_order_acquire); }
    absl::Status status() const;
    // Calls `callback` with the error the first time only, once failed.
    void Report(FailureCallback& callback);

   private:
    void SetLocked(absl::Status status) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

    std::atomic<bool> failed_{false};
    std::atomic<bool> reported_{false};
    mutable Mutex mu_;  // a leaf lock
    absl::Status status_ ABSL_GUARDED_BY(mu_);
  };

  // Leads for up to `rounds` batches (see the file comment), then leaves
  // what is left to the writer thread.
  void Lead(int rounds);
  // The writer thread: leads whenever a leader left work behind, until Stop.
  void RunWriter();
  // The sync thread: syncs for the waiters that the leaders hand it.
  void RunSyncer();
  // Moves the next batch out of the queue.
  void TakeBatch(Batch* batch) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Commits the batch's bytes, ended by their commit record, to the commit
  // log, if any, then writes them
  // and hands its FSYNC waiters to the sync thread (taking them out of the
  // batch); returns OK or the failure.
  absl::Status WriteBatch(Batch& batch);
  // Syncs everything written so far; returns OK or the queue's failure,
  // and in `*synced` the bytes of the file now on disk.
  absl::Status SyncWrittenLocked(uint64_t* synced)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(sync_mu_);
  absl::Status SwapFileLocked(
      std::unique_ptr<WritableFile> new_file, uint64_t new_file_bytes_before,
      uint64_t new_records_before,
      absl::FunctionRef<FinishResult(absl::string_view remaining)> finish,
      bool* renamed) ABSL_EXCLUSIVE_LOCKS_REQUIRED(sync_mu_, file_mu_);

  const size_t max_batch_bytes_;
  CommitLog* const commit_log_;
  // The next batch's seq: only the leader of the moment (writing_) takes
  // one, so it needs no lock; atomic for counters().
  std::atomic<uint64_t> next_commit_seq_;

  // Lock order: sync_mu_, then file_mu_, then waiters_mu_; mu_ is never
  // held with any of them.

  // Guards the queue. Held only briefly, also by callers holding shard locks.
  mutable Mutex mu_;
  CondVar writer_work_;  // for the writer thread
  std::string pending_ ABSL_GUARDED_BY(mu_);
  std::vector<Segment> segments_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;     // a leader owns the file
  bool handed_off_ ABSL_GUARDED_BY(mu_) = false;  // the writer thread's turn
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;

  // Held by the sync thread while it syncs, and by SwapFile: no file is
  // swapped while it is being synced.
  mutable Mutex sync_mu_;
  uint64_t synced_bytes_ ABSL_GUARDED_BY(sync_mu_) = 0;

  // Guards the file. Held by a leader while it writes a batch, briefly by
  // the sync thread, and by SwapFile. The file is replaced only with
  // sync_mu_ held too, so the sync thread may use it holding sync_mu_ only.
  mutable Mutex file_mu_;
  std::unique_ptr<WritableFile> file_ ABSL_GUARDED_BY(file_mu_);
  // The last commit log entry written to the file; atomic for counters().
  std::atomic<uint64_t> file_commit_seq_;
  bool capturing_ ABSL_GUARDED_BY(file_mu_) = false;
  std::string captured_ ABSL_GUARDED_BY(file_mu_);

  // FSYNC waiters whose records are written, in file order.
  Mutex waiters_mu_;
  CondVar waiters_arrived_;
  std::vector<SyncWaiter> sync_waiters_ ABSL_GUARDED_BY(waiters_mu_);
  bool syncer_stopping_ ABSL_GUARDED_BY(waiters_mu_) = false;

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
  std::thread writer_ ABSL_GUARDED_BY(join_mu_);
  std::thread syncer_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_GROUP_COMMIT_QUEUE_H_
