#include "storage/internal/group_commit_queue.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/internal/wal_format.h"

namespace persist {
namespace {

// Batches a caller writes before it leaves the rest to the writer thread:
// enough for the records queued while it wrote its own, few enough that a
// caller's thread (a gRPC thread, say) is not kept from its own work long.
constexpr int kCallerRounds = 4;

absl::Status StoppedError() {
  return absl::UnavailableError("the store is closed; open it again to write");
}

}  // namespace

void GroupCommitQueue::Failure::Set(const absl::Status& io_error) {
  MutexLock lock(&mu_);
  // Unavailable whatever the errno: the store as a whole stopped taking
  // writes, and clients should go elsewhere or wait for a restart. The I/O
  // error's own words (with its errno) say why.
  SetLocked(absl::UnavailableError(absl::StrCat(
      "the WAL stopped taking writes after an I/O error: ", io_error.message(),
      ". Reads go on; writes fail until the store is reopened (fix the "
      "disk, then restart).")));
}

void GroupCommitQueue::Failure::SetCommitFailure(const absl::Status& error) {
  MutexLock lock(&mu_);
  SetLocked(absl::UnavailableError(absl::StrCat(
      "the store stopped taking writes: its commit log refused a batch (",
      error.message(),
      "). Reads go on; writes fail until the store is reopened (as a "
      "follower, if another replica leads).")));
}

void GroupCommitQueue::Failure::SetLocked(absl::Status status) {
  if (!status_.ok()) return;  // the first error wins
  status_ = std::move(status);
  failed_.store(true, std::memory_order_release);
}

absl::Status GroupCommitQueue::Failure::status() const {
  if (!failed()) return absl::OkStatus();
  MutexLock lock(&mu_);
  return status_;
}

void GroupCommitQueue::Failure::Report(FailureCallback& callback) {
  if (!failed() || reported_.exchange(true)) return;
  if (callback) callback(status());
}

GroupCommitQueue::GroupCommitQueue(std::unique_ptr<WritableFile> file,
                                   Options options)
    : max_batch_bytes_(std::max<size_t>(options.max_batch_bytes, 1)),
      commit_log_(options.commit_log),
      next_commit_seq_(options.first_commit_seq),
      file_(std::move(file)),
      file_commit_seq_(options.file_commit_seq),
      on_failure_(std::move(options.on_failure)),
      file_bytes_(options.file_bytes),
      records_(options.records) {
  // synced_bytes_ stays 0: nothing says the bytes found at open are on
  // disk (a killed process leaves them in the page cache), so the first
  // Sync fsyncs them.
  MutexLock lock(&join_mu_);
  writer_ = std::thread([this] { RunWriter(); });
  syncer_ = std::thread([this] { RunSyncer(); });
}

GroupCommitQueue::~GroupCommitQueue() { Stop(); }

void GroupCommitQueue::Enqueue(absl::string_view records, int64_t count,
                               Durability durability, Done done) {
  {
    MutexLock lock(&mu_);
    if (!stopped_) {
      pending_.append(records.data(), records.size());
      segments_.push_back(
          {pending_.size(), count, durability, std::move(done)});
      return;
    }
  }
  if (done != nullptr) std::move(done)(StoppedError());
}

void GroupCommitQueue::Commit() { Lead(kCallerRounds); }

void GroupCommitQueue::Sync(Done done) {
  // A segment without records that asks for FSYNC: done once everything
  // queued before it is synced.
  Enqueue({}, 0, Durability::kFsync, std::move(done));
  Commit();
}

GroupCommitQueue::Counters GroupCommitQueue::counters() const {
  Counters counters;
  counters.file_bytes = file_bytes_.load(std::memory_order_relaxed);
  counters.records = records_.load(std::memory_order_relaxed);
  counters.appended_bytes = appended_bytes_.load(std::memory_order_relaxed);
  counters.next_commit_seq = next_commit_seq_.load(std::memory_order_relaxed);
  counters.file_commit_seq = file_commit_seq_.load(std::memory_order_relaxed);
  counters.batch_records = batch_records_.Snapshot();
  counters.sync_seconds = sync_seconds_.Snapshot();
  // One observation per batch written and per fdatasync.
  counters.batches = counters.batch_records.count;
  counters.syncs = counters.sync_seconds.count;
  return counters;
}

void GroupCommitQueue::TakeBatch(Batch* batch) {
  // The longest run of whole segments within the cap, and at least one.
  size_t taken = 1;
  while (taken < segments_.size() && segments_[taken].end <= max_batch_bytes_) {
    ++taken;
  }
  const size_t bytes = segments_[taken - 1].end;
  if (taken == segments_.size()) {
    batch->bytes.swap(pending_);
    batch->segments.swap(segments_);
  } else {
    batch->bytes.assign(pending_, 0, bytes);
    pending_.erase(0, bytes);
    batch->segments.assign(std::make_move_iterator(segments_.begin()),
                           std::make_move_iterator(segments_.begin() + taken));
    segments_.erase(segments_.begin(), segments_.begin() + taken);
    for (Segment& rest : segments_) rest.end -= bytes;
  }
  for (const Segment& segment : batch->segments) {
    batch->records += segment.records;
  }
}

void GroupCommitQueue::Lead(int rounds) {
  for (int round = 0;; ++round) {
    Batch batch;
    {
      MutexLock lock(&mu_);
      if (writing_ || segments_.empty()) return;  // the leader writes it
      if (round == rounds) {  // enough for this caller's thread
        handed_off_ = true;
        writer_work_.Signal();
        return;
      }
      writing_ = true;
      TakeBatch(&batch);
    }
    const absl::Status status = WriteBatch(batch);
    {
      MutexLock lock(&mu_);
      writing_ = false;
      if (stopping_) writer_work_.Signal();  // Stop waits for the last one
    }
    failure_.Report(on_failure_);  // no lock held
    // What remains are the WRITE waiters (the kernel has their bytes), and
    // on failure the FSYNC ones too.
    for (Segment& segment : batch.segments) {
      if (segment.done) std::move(segment.done)(status);
    }
  }
}

absl::Status GroupCommitQueue::WriteBatch(Batch& batch) {
  if (absl::Status status = health(); !status.ok()) return status;
  // Committed before the file lock is taken: the round trip to the log
  // must not hold up the sync thread or a Snapshot. Only this leader
  // writes, so batches still reach the log and the file in one order.
  uint64_t committed_seq = 0;
  if (commit_log_ != nullptr && !batch.bytes.empty()) {
    const uint64_t seq = next_commit_seq_.load(std::memory_order_relaxed);
    // The entry ends with its seq, in the log and in the file alike: a
    // replica finds in its own file where it stands (wal_format.h).
    AppendCommitRecord(seq, &batch.bytes);
    if (absl::Status status =
            commit_log_->Append(seq, batch.bytes, batch.records);
        !status.ok()) {
      failure_.SetCommitFailure(absl::Status(
          status.code(), absl::StrCat("batch ", seq, " of ", batch.records,
                                      " records: ", status.message())));
      return health();
    }
    next_commit_seq_.store(seq + 1, std::memory_order_relaxed);
    committed_seq = seq;
  }
  MutexLock lock(&file_mu_);
  if (!batch.bytes.empty()) {
    if (absl::Status status = file_->Append(batch.bytes); !status.ok()) {
      failure_.Set(status);
      return health();
    }
    file_bytes_.fetch_add(batch.bytes.size(), std::memory_order_relaxed);
    records_.fetch_add(static_cast<uint64_t>(batch.records),
                       std::memory_order_relaxed);
    appended_bytes_.fetch_add(batch.bytes.size(), std::memory_order_relaxed);
    if (committed_seq != 0) {
      file_commit_seq_.store(committed_seq, std::memory_order_relaxed);
    }
    batch_records_.Observe(static_cast<double>(batch.records));
    if (capturing_) captured_.append(batch.bytes);
  }
  // FSYNC waiters (a Sync's too, even without a callback: it asks for the
  // fsync) go to the sync thread, handed over while the file cannot be
  // swapped, so that a swap settles every waiter of the old file.
  const uint64_t end = file_bytes_.load(std::memory_order_relaxed);
  MutexLock waiters_lock(&waiters_mu_);
  for (Segment& segment : batch.segments) {
    if (segment.durability != Durability::kFsync) continue;
    sync_waiters_.push_back({end, std::move(segment.done)});
    segment.done = nullptr;
    waiters_arrived_.Signal();
  }
  return absl::OkStatus();
}

void GroupCommitQueue::RunWriter() {
  for (;;) {
    {
      MutexLock lock(&mu_);
      while (!handed_off_ && !(stopping_ && !writing_)) {
        writer_work_.Wait(&mu_);
      }
      handed_off_ = false;
      if (stopping_ && !writing_ && segments_.empty()) {
        stopped_ = true;  // later Enqueue and Sync calls fail at once
        return;
      }
    }
    Lead(std::numeric_limits<int>::max());
  }
}

void GroupCommitQueue::RunSyncer() {
  std::vector<SyncWaiter> ready;
  size_t last_round = 0;  // waiters the last fdatasync completed
  absl::Duration last_sync;
  for (;;) {
    {
      MutexLock lock(&waiters_mu_);
      while (sync_waiters_.empty() && !syncer_stopping_) {
        waiters_arrived_.Wait(&waiters_mu_);
      }
      if (sync_waiters_.empty()) return;  // stopping, every waiter done
      // The writers the last fdatasync completed are likely writing again
      // by now: give them a moment (a quarter of an fdatasync at most) to
      // join this one, or each sync would serve half of them. A lone
      // writer (last round of one) never waits.
      const absl::Time deadline = absl::Now() + last_sync / 4;
      while (sync_waiters_.size() < last_round && !syncer_stopping_) {
        const absl::Duration left = deadline - absl::Now();
        if (left <= absl::ZeroDuration()) break;
        waiters_arrived_.WaitWithTimeout(&waiters_mu_, left);
      }
    }
    const absl::Time sync_start = absl::Now();
    absl::Status status;
    {
      MutexLock sync_lock(&sync_mu_);
      uint64_t synced = 0;
      status = SyncWrittenLocked(&synced);
      // Still holding sync_mu_: the offsets compared are of the file just
      // synced (a swap settles its waiters itself).
      MutexLock lock(&waiters_mu_);
      if (!status.ok()) {
        ready.swap(sync_waiters_);
      } else {
        // In file order: the ones written up to `synced` are durable.
        auto durable = std::find_if(
            sync_waiters_.begin(), sync_waiters_.end(),
            [synced](const SyncWaiter& waiter) { return waiter.end > synced; });
        ready.assign(std::make_move_iterator(sync_waiters_.begin()),
                     std::make_move_iterator(durable));
        sync_waiters_.erase(sync_waiters_.begin(), durable);
      }
    }
    last_sync = absl::Now() - sync_start;
    last_round = ready.size();
    failure_.Report(on_failure_);  // no lock held
    for (SyncWaiter& waiter : ready) {
      if (waiter.done) std::move(waiter.done)(status);
    }
    ready.clear();
  }
}

absl::Status GroupCommitQueue::SyncWrittenLocked(uint64_t* synced) {
  // A Shrink may have swapped files, and failed, since the append.
  if (absl::Status status = health(); !status.ok()) return status;
  WritableFile* file = nullptr;
  uint64_t written = 0;
  {
    // No append in progress: every byte counted is in the kernel, so the
    // fdatasync that starts next covers them. Appends go on meanwhile.
    MutexLock lock(&file_mu_);
    file = file_.get();
    written = file_bytes_.load(std::memory_order_relaxed);
  }
  *synced = written;
  if (synced_bytes_ == written) return absl::OkStatus();
  const auto start = std::chrono::steady_clock::now();
  const absl::Status status = file->Sync();
  sync_seconds_.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
          .count());
  if (!status.ok()) {
    failure_.Set(status);
    return health();
  }
  synced_bytes_ = written;
  return absl::OkStatus();
}

uint64_t GroupCommitQueue::BeginCapture() {
  MutexLock lock(&file_mu_);
  capturing_ = true;
  captured_.clear();
  return file_commit_seq_.load(std::memory_order_relaxed);
}

std::string GroupCommitQueue::TakeCaptured() {
  MutexLock lock(&file_mu_);
  std::string taken;
  taken.swap(captured_);
  return taken;
}

void GroupCommitQueue::EndCapture() {
  MutexLock lock(&file_mu_);
  capturing_ = false;
  captured_.clear();
  captured_.shrink_to_fit();
}

absl::Status GroupCommitQueue::SwapFile(
    std::unique_ptr<WritableFile> new_file, uint64_t new_file_bytes_before,
    uint64_t new_records_before,
    absl::FunctionRef<FinishResult(absl::string_view remaining)> finish) {
  absl::Status status;
  std::vector<SyncWaiter> settled;
  {
    MutexLock sync_lock(&sync_mu_);
    MutexLock lock(&file_mu_);
    bool renamed = false;
    status = SwapFileLocked(std::move(new_file), new_file_bytes_before,
                            new_records_before, finish, &renamed);
    if (renamed) {
      // The waiters of the old file: its records are in the new one, which
      // `finish` synced whole, or the queue failed.
      MutexLock waiters_lock(&waiters_mu_);
      settled.swap(sync_waiters_);
    }
  }
  failure_.Report(on_failure_);
  for (SyncWaiter& waiter : settled) {
    if (waiter.done) std::move(waiter.done)(health());
  }
  return status;
}

absl::Status GroupCommitQueue::SwapFileLocked(
    std::unique_ptr<WritableFile> new_file, uint64_t new_file_bytes_before,
    uint64_t new_records_before,
    absl::FunctionRef<FinishResult(absl::string_view remaining)> finish,
    bool* renamed) {
  capturing_ = false;
  std::string remaining;
  remaining.swap(captured_);
  // The WAL may have failed while Shrink ran: then its last batches are not
  // in `remaining`, and the store must not go on as if they were.
  if (absl::Status status = health(); !status.ok()) return status;
  const FinishResult result = finish(remaining);
  *renamed = result.renamed;
  if (!result.renamed) return result.status;
  const auto remaining_records =
      static_cast<uint64_t>(CountWalRecords(remaining));
  (void)file_->Close();  // its file is unlinked now; nothing to lose
  file_ = std::move(new_file);
  const uint64_t bytes = new_file_bytes_before + remaining.size();
  file_bytes_.store(bytes, std::memory_order_relaxed);
  records_.store(new_records_before + remaining_records,
                 std::memory_order_relaxed);
  if (!result.status.ok()) {
    failure_.Set(result.status);
    return health();
  }
  synced_bytes_ = bytes;
  return absl::OkStatus();
}

void GroupCommitQueue::AtBatchBoundary(
    absl::FunctionRef<void(uint64_t file_bytes, uint64_t records,
                           uint64_t commit_seq)>
        at) {
  // Leaders write each batch holding file_mu_, and a swap replaces the
  // file holding it.
  MutexLock lock(&file_mu_);
  at(file_bytes_.load(std::memory_order_relaxed),
     records_.load(std::memory_order_relaxed),
     file_commit_seq_.load(std::memory_order_relaxed));
}

void GroupCommitQueue::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    writer_work_.Signal();
  }
  MutexLock lock(&join_mu_);
  // The writer writes what is queued; then the syncer syncs what waits.
  if (writer_.joinable()) writer_.join();
  {
    MutexLock waiters_lock(&waiters_mu_);
    syncer_stopping_ = true;
    waiters_arrived_.Signal();
  }
  if (syncer_.joinable()) syncer_.join();
}

}  // namespace persist
