#include "storage/internal/group_commit_queue.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace persist {
namespace {

absl::Status StoppedError() {
  return absl::FailedPreconditionError(
      "the store is closed; open it again to write");
}

}  // namespace

GroupCommitQueue::GroupCommitQueue(std::unique_ptr<WritableFile> file,
                                   uint64_t file_bytes, uint64_t records,
                                   FailureCallback on_failure)
    : file_(std::move(file)),
      on_failure_(std::move(on_failure)),
      file_bytes_(file_bytes),
      records_(records) {
  // synced_bytes_ stays 0: nothing says the bytes found at open are on
  // disk (a killed process leaves them in the page cache), so the first
  // Sync fsyncs them.
  MutexLock lock(&join_mu_);
  thread_ = std::thread([this] { Run(); });
}

GroupCommitQueue::~GroupCommitQueue() { Stop(); }

void GroupCommitQueue::Enqueue(absl::string_view records, int count,
                               Durability durability, Done done) {
  {
    MutexLock lock(&mu_);
    if (!stopped_) {
      pending_.append(records.data(), records.size());
      pending_records_ += count;
      if (done != nullptr) waiters_.push_back({durability, std::move(done)});
      work_.Signal();
      return;
    }
  }
  if (done != nullptr) std::move(done)(StoppedError());
}

void GroupCommitQueue::Sync(Done done) {
  {
    MutexLock lock(&mu_);
    if (!stopped_) {
      waiters_.push_back({Durability::kFsync, std::move(done)});
      work_.Signal();
      return;
    }
  }
  if (done != nullptr) std::move(done)(StoppedError());
}

absl::Status GroupCommitQueue::health() const {
  if (!failed()) return absl::OkStatus();
  MutexLock lock(&failure_mu_);
  return failure_;
}

GroupCommitQueue::Counters GroupCommitQueue::counters() const {
  Counters counters;
  counters.file_bytes = file_bytes_.load(std::memory_order_relaxed);
  counters.records = records_.load(std::memory_order_relaxed);
  counters.appended_bytes = appended_bytes_.load(std::memory_order_relaxed);
  counters.batch_records = batch_records_.Snapshot();
  counters.sync_seconds = sync_seconds_.Snapshot();
  // One observation per batch written and per fdatasync.
  counters.batches = counters.batch_records.count;
  counters.syncs = counters.sync_seconds.count;
  return counters;
}

void GroupCommitQueue::Fail(const absl::Status& status) {
  MutexLock lock(&failure_mu_);
  if (!failure_.ok()) return;
  failure_ = absl::Status(
      status.code(),
      absl::StrCat("the WAL stopped taking writes after an I/O error: ",
                   status.message(),
                   ". Reads go on; writes fail until the store is reopened "
                   "(fix the disk, then restart)."));
  failed_.store(true, std::memory_order_release);
}

void GroupCommitQueue::ReportFailure() {
  if (!failed() || failure_reported_.exchange(true)) return;
  if (on_failure_) on_failure_(health());
}

void GroupCommitQueue::Run() {
  std::string batch;
  std::vector<Waiter> waiters;
  for (;;) {
    int64_t batch_records = 0;
    {
      MutexLock lock(&mu_);
      while (pending_.empty() && waiters_.empty() && !stopping_) {
        work_.Wait(&mu_);
      }
      if (pending_.empty() && waiters_.empty()) {  // stopping, all done
        stopped_ = true;
        return;
      }
      batch.swap(pending_);
      waiters.swap(waiters_);
      batch_records = pending_records_;
      pending_records_ = 0;
    }
    const bool wants_sync =
        std::any_of(waiters.begin(), waiters.end(), [](const Waiter& w) {
          return w.durability == Durability::kFsync;
        });

    absl::Status status = health();
    if (status.ok() && !batch.empty()) {
      MutexLock lock(&file_mu_);
      status = file_->Append(batch);
      if (status.ok()) {
        file_bytes_.fetch_add(batch.size(), std::memory_order_relaxed);
        records_.fetch_add(batch_records, std::memory_order_relaxed);
        appended_bytes_.fetch_add(batch.size(), std::memory_order_relaxed);
        batch_records_.Observe(static_cast<double>(batch_records));
        if (capturing_) captured_.append(batch);
      } else {
        Fail(status);
        status = health();
      }
    }
    ReportFailure();  // no lock held
    // WRITE waiters are done once the kernel has the bytes.
    for (Waiter& waiter : waiters) {
      if (waiter.durability != Durability::kFsync && waiter.done != nullptr) {
        std::move(waiter.done)(status);
        waiter.done = nullptr;
      }
    }
    if (status.ok() && wants_sync) {
      MutexLock lock(&file_mu_);
      // A Shrink may have swapped files, and failed, since the append.
      status = health();
      const uint64_t written = file_bytes_.load(std::memory_order_relaxed);
      if (status.ok() && synced_bytes_ != written) {
        const auto sync_start = std::chrono::steady_clock::now();
        status = file_->Sync();
        sync_seconds_.Observe(std::chrono::duration<double>(
                                  std::chrono::steady_clock::now() - sync_start)
                                  .count());
        if (status.ok()) {
          synced_bytes_ = written;
        } else {
          Fail(status);
          status = health();
        }
      }
    }
    ReportFailure();
    for (Waiter& waiter : waiters) {
      if (waiter.done != nullptr) std::move(waiter.done)(status);
    }
    batch.clear();
    waiters.clear();
  }
}

void GroupCommitQueue::BeginCapture() {
  MutexLock lock(&file_mu_);
  capturing_ = true;
  captured_.clear();
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
  {
    MutexLock lock(&file_mu_);
    status = SwapFileLocked(std::move(new_file), new_file_bytes_before,
                            new_records_before, finish);
  }
  ReportFailure();
  return status;
}

absl::Status GroupCommitQueue::SwapFileLocked(
    std::unique_ptr<WritableFile> new_file, uint64_t new_file_bytes_before,
    uint64_t new_records_before,
    absl::FunctionRef<FinishResult(absl::string_view remaining)> finish) {
  capturing_ = false;
  std::string remaining;
  remaining.swap(captured_);
  // The WAL may have failed while Shrink ran: then its last batches are not
  // in `remaining`, and the store must not go on as if they were.
  if (absl::Status status = health(); !status.ok()) return status;
  const FinishResult result = finish(remaining);
  if (!result.renamed) return result.status;
  // Each record is two lines.
  const auto remaining_records = static_cast<uint64_t>(
      std::count(remaining.begin(), remaining.end(), '\n') / 2);
  (void)file_->Close();  // its file is unlinked now; nothing to lose
  file_ = std::move(new_file);
  const uint64_t bytes = new_file_bytes_before + remaining.size();
  file_bytes_.store(bytes, std::memory_order_relaxed);
  records_.store(new_records_before + remaining_records,
                 std::memory_order_relaxed);
  if (result.status.ok()) {
    synced_bytes_ = bytes;
  } else {
    Fail(result.status);
  }
  return result.status;
}

void GroupCommitQueue::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    work_.Signal();
  }
  MutexLock lock(&join_mu_);
  if (thread_.joinable()) thread_.join();
}

}  // namespace persist
