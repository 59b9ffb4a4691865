#include "tests/storage/fault_injection_file_system.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "base/status_macros.h"

namespace persist::testing {
namespace {

absl::StatusOr<std::string> ReadPrefix(FileSystem* fs, const std::string& path,
                                       uint64_t size) {
  PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<FileContents> contents,
                           fs->ReadFile(path));
  return std::string(contents->data().substr(0, size));
}

absl::Status WriteWhole(FileSystem* fs, const std::string& path,
                        const std::string& contents) {
  PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file,
                           fs->CreateEmpty(path, /*permissions_of=*/""));
  PERSIST_RETURN_IF_ERROR(file->Append(contents));
  PERSIST_RETURN_IF_ERROR(file->Sync());
  return file->Close();
}

absl::Status CrashedError() {
  return absl::UnavailableError("injected crash: the process is gone");
}

}  // namespace

class FaultInjectionFileSystem::File final : public WritableFile {
 public:
  File(FaultInjectionFileSystem* fs, std::unique_ptr<WritableFile> base,
       std::shared_ptr<State> state)
      : fs_(fs), base_(std::move(base)), state_(std::move(state)) {}

  absl::Status Append(absl::string_view data) override {
    size_t partial = 0;
    absl::Status fault;
    {
      MutexLock lock(&fs_->mu_);
      fault = fs_->Check(Op::kAppend, &partial);
    }
    if (!fault.ok()) {
      if (partial > 0) {
        (void)base_->Append(data.substr(0, std::min(partial, data.size())));
      }
      return fault;
    }
    return base_->Append(data);
  }

  absl::Status Sync() override {
    {
      MutexLock lock(&fs_->mu_);
      PERSIST_RETURN_IF_ERROR(fs_->Check(Op::kSync));
    }
    std::string path;
    {
      MutexLock lock(&fs_->mu_);
      path = state_->path;
    }
    // The size before the sync: an Append may run while it syncs, and its
    // bytes are not known to be durable.
    absl::StatusOr<uint64_t> size = fs_->base_->FileSize(path);
    PERSIST_RETURN_IF_ERROR(base_->Sync());
    if (size.ok()) fs_->Synced(state_, *size);
    return absl::OkStatus();
  }

  absl::Status Close() override { return base_->Close(); }

 private:
  FaultInjectionFileSystem* const fs_;
  const std::unique_ptr<WritableFile> base_;
  const std::shared_ptr<State> state_;
};

FaultInjectionFileSystem::FaultInjectionFileSystem()
    : base_(PosixFileSystem()) {}

FaultInjectionFileSystem::~FaultInjectionFileSystem() = default;

void FaultInjectionFileSystem::FailAfter(Op op, int skip, absl::Status error,
                                         size_t partial_bytes) {
  MutexLock lock(&mu_);
  faults_[op] = Fault{skip, std::move(error), partial_bytes};
}

void FaultInjectionFileSystem::Crash() {
  MutexLock lock(&mu_);
  crashed_ = true;
}

void FaultInjectionFileSystem::CrashAfter(int ops) {
  MutexLock lock(&mu_);
  crash_countdown_ = ops;
}

void FaultInjectionFileSystem::HoldNext(Op op) {
  MutexLock lock(&mu_);
  hold_ = op;
  released_ = false;
}

bool FaultInjectionFileSystem::WaitUntilHeld(absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  MutexLock lock(&mu_);
  while (!holding_) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    counted_.WaitWithTimeout(&mu_, left);
  }
  return true;
}

void FaultInjectionFileSystem::Release() {
  MutexLock lock(&mu_);
  released_ = true;
  counted_.SignalAll();
}

int64_t FaultInjectionFileSystem::Count(Op op) const {
  MutexLock lock(&mu_);
  auto it = counts_.find(op);
  return it == counts_.end() ? 0 : it->second;
}

bool FaultInjectionFileSystem::WaitForCount(Op op, int64_t n,
                                            absl::Duration timeout) const {
  const absl::Time deadline = absl::Now() + timeout;
  MutexLock lock(&mu_);
  for (;;) {
    auto it = counts_.find(op);
    if (it != counts_.end() && it->second >= n) return true;
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) return false;
    counted_.WaitWithTimeout(&mu_, left);
  }
}

absl::Status FaultInjectionFileSystem::Check(Op op, size_t* partial_bytes) {
  ++counts_[op];
  counted_.SignalAll();
  if (hold_ == op) {
    hold_.reset();
    holding_ = true;
    counted_.SignalAll();
    while (!released_) counted_.Wait(&mu_);
    holding_ = false;
  }
  if (crash_countdown_ == 0) {
    crashed_ = true;
    crash_countdown_ = -1;
  } else if (crash_countdown_ > 0) {
    --crash_countdown_;
  }
  if (crashed_) return CrashedError();
  auto it = faults_.find(op);
  if (it == faults_.end()) return absl::OkStatus();
  if (it->second.skip > 0) {
    --it->second.skip;
    return absl::OkStatus();
  }
  absl::Status error = it->second.error;
  if (partial_bytes != nullptr) *partial_bytes = it->second.partial_bytes;
  faults_.erase(it);
  return error;
}

std::shared_ptr<FaultInjectionFileSystem::State>
FaultInjectionFileSystem::StateFor(const std::string& path) {
  auto it = files_.find(path);
  if (it != files_.end()) return it->second;
  auto state = std::make_shared<State>();
  state->path = path;
  absl::StatusOr<uint64_t> size = base_->FileSize(path);
  // A file that was there before we knew it is taken as durable.
  state->synced_size = size.ok() ? *size : 0;
  state->name_durable = size.ok();
  files_[path] = state;
  return state;
}

void FaultInjectionFileSystem::Synced(const std::shared_ptr<State>& state,
                                      uint64_t size) {
  MutexLock lock(&mu_);
  state->synced_size = size;
}

absl::StatusOr<std::unique_ptr<FileContents>>
FaultInjectionFileSystem::ReadFile(const std::string& path) {
  {
    MutexLock lock(&mu_);
    if (crashed_) return CrashedError();
  }
  return base_->ReadFile(path);
}

absl::StatusOr<std::unique_ptr<RandomAccessFile>>
FaultInjectionFileSystem::OpenForReading(const std::string& path) {
  {
    MutexLock lock(&mu_);
    if (crashed_) return CrashedError();
  }
  return base_->OpenForReading(path);
}

absl::StatusOr<std::unique_ptr<WritableFile>>
FaultInjectionFileSystem::OpenForAppend(const std::string& path) {
  std::shared_ptr<State> state;
  {
    MutexLock lock(&mu_);
    if (crashed_) return CrashedError();
    state = StateFor(path);
  }
  PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> base,
                           base_->OpenForAppend(path));
  return std::make_unique<File>(this, std::move(base), std::move(state));
}

absl::StatusOr<std::unique_ptr<WritableFile>>
FaultInjectionFileSystem::CreateEmpty(const std::string& path,
                                      const std::string& permissions_of) {
  std::shared_ptr<State> state;
  {
    MutexLock lock(&mu_);
    PERSIST_RETURN_IF_ERROR(Check(Op::kCreate));
    const bool existed = base_->FileSize(path).ok();
    state = std::make_shared<State>();
    state->path = path;
    state->synced_size = 0;
    state->name_durable = existed;
    files_[path] = state;
  }
  PERSIST_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> base,
                           base_->CreateEmpty(path, permissions_of));
  return std::make_unique<File>(this, std::move(base), std::move(state));
}

absl::StatusOr<uint64_t> FaultInjectionFileSystem::FileSize(
    const std::string& path) {
  return base_->FileSize(path);
}

absl::Status FaultInjectionFileSystem::Truncate(const std::string& path,
                                                uint64_t size) {
  MutexLock lock(&mu_);
  PERSIST_RETURN_IF_ERROR(Check(Op::kTruncate));
  PERSIST_RETURN_IF_ERROR(base_->Truncate(path, size));
  StateFor(path)->synced_size = size;
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::Rename(const std::string& from,
                                              const std::string& to) {
  MutexLock lock(&mu_);
  PERSIST_RETURN_IF_ERROR(Check(Op::kRename));
  PendingRename pending;
  pending.state = StateFor(from);
  pending.from = from;
  pending.to = to;
  if (auto old = files_.find(to);
      old != files_.end() || base_->FileSize(to).ok()) {
    const uint64_t durable =
        old != files_.end() ? old->second->synced_size : *base_->FileSize(to);
    absl::StatusOr<std::string> contents = ReadPrefix(base_, to, durable);
    if (contents.ok()) {
      pending.had_old = true;
      pending.old_contents = *std::move(contents);
    }
  }
  PERSIST_RETURN_IF_ERROR(base_->Rename(from, to));
  files_.erase(from);
  files_[to] = pending.state;
  pending.state->path = to;
  renames_.push_back(std::move(pending));
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::SyncDir(const std::string& dir) {
  MutexLock lock(&mu_);
  PERSIST_RETURN_IF_ERROR(Check(Op::kSyncDir));
  PERSIST_RETURN_IF_ERROR(base_->SyncDir(dir));
  std::vector<PendingRename> still_pending;
  for (PendingRename& rename : renames_) {
    if (DirName(rename.to) != dir) still_pending.push_back(std::move(rename));
  }
  renames_ = std::move(still_pending);
  for (auto& [path, state] : files_) {
    if (DirName(path) == dir) state->name_durable = true;
  }
  return absl::OkStatus();
}

absl::Status FaultInjectionFileSystem::Remove(const std::string& path) {
  MutexLock lock(&mu_);
  if (crashed_) return CrashedError();
  files_.erase(path);
  return base_->Remove(path);
}

absl::StatusOr<std::unique_ptr<FileLock>> FaultInjectionFileSystem::Lock(
    const std::string& path) {
  return base_->Lock(path);
}

void FaultInjectionFileSystem::DropUnsyncedData() {
  MutexLock lock(&mu_);
  // Renames not made durable by a folder sync are undone, newest first.
  for (auto it = renames_.rbegin(); it != renames_.rend(); ++it) {
    const PendingRename& rename = *it;
    absl::StatusOr<std::string> moved =
        ReadPrefix(base_, rename.to, rename.state->synced_size);
    if (moved.ok()) (void)WriteWhole(base_, rename.from, *moved);
    rename.state->path = rename.from;
    files_[rename.from] = rename.state;
    if (rename.had_old) {
      (void)WriteWhole(base_, rename.to, rename.old_contents);
      auto old = std::make_shared<State>();
      old->path = rename.to;
      old->synced_size = rename.old_contents.size();
      files_[rename.to] = old;
    } else {
      (void)base_->Remove(rename.to);
      files_.erase(rename.to);
    }
  }
  renames_.clear();
  for (auto it = files_.begin(); it != files_.end();) {
    State& state = *it->second;
    if (!state.name_durable) {
      (void)base_->Remove(state.path);
      it = files_.erase(it);
      continue;
    }
    absl::StatusOr<uint64_t> size = base_->FileSize(state.path);
    if (size.ok() && *size > state.synced_size) {
      (void)base_->Truncate(state.path, state.synced_size);
    }
    ++it;
  }
  crashed_ = false;
  crash_countdown_ = -1;
  faults_.clear();
}

}  // namespace persist::testing
