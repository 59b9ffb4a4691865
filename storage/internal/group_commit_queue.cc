#include "storage/internal/group_commit_queue.h"

#include <algorithm>
#include <chrono>
#include <utility>

#include "absl/strings/str_cat.h"

namespace persist {
namespace {

absl::Status StoppedError() {
  return absl::UnavailableError("the store is closed; open it again to write");
}

}  // namespace

void GroupCommitQueue::Failure::Set(const absl::Status& io_error) {
  MutexLock lock(&mu_);
  if (!status_.ok()) return;  // the first error wins
  // Unavailable whatever the errno: the store as a whole stopped taking
  // writes, and clients should go elsewhere or wait for a restart. The I/O
  // error's own words (with its errno) say why.
  status_ = absl::UnavailableError(absl::StrCat(
      "the WAL stopped taking writes after an I/O error: ", io_error.message(),
      ". Reads go on; writes fail until the store is reopened (fix the "
      "disk, then restart)."));
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
      file_(std::move(file)),
      on_failure_(std::move(options.on_failure)),
      file_bytes_(options.file_bytes),
      records_(options.records) {
  // synced_bytes_ stays 0: nothing says the bytes found at open are on
  // disk (a killed process leaves them in the page cache), so the first
  // Sync fsyncs them.
  MutexLock lock(&join_mu_);
  thread_ = std::thread([this] { Run(); });
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
      segments_.push_back(
          {pending_.size(), 0, Durability::kFsync, std::move(done)});
      work_.Signal();
      return;
    }
  }
  if (done != nullptr) std::move(done)(StoppedError());
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

bool GroupCommitQueue::TakeBatch(Batch* batch) {
  MutexLock lock(&mu_);
  while (segments_.empty() && !stopping_) work_.Wait(&mu_);
  if (segments_.empty()) {  // stopping, all done
    stopped_ = true;
    return false;
  }
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
    work_.Signal();  // the rest is for the next round
  }
  for (const Segment& segment : batch->segments) {
    batch->records += segment.records;
    batch->wants_sync |= segment.durability == Durability::kFsync;
  }
  return true;
}

absl::Status GroupCommitQueue::WriteBatch(const Batch& batch) {
  if (absl::Status status = health(); !status.ok() || batch.bytes.empty()) {
    return status;
  }
  MutexLock lock(&file_mu_);
  if (absl::Status status = file_->Append(batch.bytes); !status.ok()) {
    failure_.Set(status);
    return health();
  }
  file_bytes_.fetch_add(batch.bytes.size(), std::memory_order_relaxed);
  records_.fetch_add(static_cast<uint64_t>(batch.records),
                     std::memory_order_relaxed);
  appended_bytes_.fetch_add(batch.bytes.size(), std::memory_order_relaxed);
  batch_records_.Observe(static_cast<double>(batch.records));
  if (capturing_) captured_.append(batch.bytes);
  return absl::OkStatus();
}

absl::Status GroupCommitQueue::SyncWritten() {
  MutexLock lock(&file_mu_);
  // A Shrink may have swapped files, and failed, since the append.
  if (absl::Status status = health(); !status.ok()) return status;
  const uint64_t written = file_bytes_.load(std::memory_order_relaxed);
  if (synced_bytes_ == written) return absl::OkStatus();
  const auto start = std::chrono::steady_clock::now();
  const absl::Status status = file_->Sync();
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

void GroupCommitQueue::Run() {
  Batch batch;
  while (TakeBatch(&batch)) {
    absl::Status status = WriteBatch(batch);
    failure_.Report(on_failure_);  // no lock held
    // WRITE waiters are done once the kernel has the bytes.
    for (Segment& segment : batch.segments) {
      if (segment.durability != Durability::kFsync && segment.done) {
        std::move(segment.done)(status);
        segment.done = nullptr;
      }
    }
    if (status.ok() && batch.wants_sync) status = SyncWritten();
    failure_.Report(on_failure_);
    for (Segment& segment : batch.segments) {
      if (segment.done) std::move(segment.done)(status);
    }
    batch = Batch();
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
  failure_.Report(on_failure_);
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
  if (!result.status.ok()) {
    failure_.Set(result.status);
    return health();
  }
  synced_bytes_ = bytes;
  return absl::OkStatus();
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
