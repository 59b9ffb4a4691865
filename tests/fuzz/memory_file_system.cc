#include "tests/fuzz/memory_file_system.h"

#include <utility>

#include "absl/strings/str_cat.h"

namespace persist::testing {
namespace {

absl::Status Missing(const std::string& path) {
  return absl::NotFoundError(absl::StrCat(path, ": no such file"));
}

class Contents final : public FileContents {
 public:
  explicit Contents(std::string bytes) : bytes_(std::move(bytes)) {}
  absl::string_view data() const override { return bytes_; }

 private:
  const std::string bytes_;
};

class NoLock final : public FileLock {};

}  // namespace

// Appends to the bytes of its file, under the file system's lock.
class MemoryFileSystem::File final : public WritableFile {
 public:
  File(MemoryFileSystem* fs, std::shared_ptr<std::string> bytes)
      : fs_(fs), bytes_(std::move(bytes)) {}
  absl::Status Append(absl::string_view data) override {
    MutexLock lock(&fs_->mu_);
    bytes_->append(data.data(), data.size());
    return absl::OkStatus();
  }
  absl::Status Sync() override { return absl::OkStatus(); }
  absl::Status Close() override { return absl::OkStatus(); }

 private:
  MemoryFileSystem* const fs_;
  const std::shared_ptr<std::string> bytes_;
};

std::shared_ptr<std::string> MemoryFileSystem::Find(
    const std::string& path) const {
  auto it = files_.find(path);
  return it == files_.end() ? nullptr : it->second;
}

std::string MemoryFileSystem::Contents(const std::string& path) const {
  MutexLock lock(&mu_);
  std::shared_ptr<std::string> bytes = Find(path);
  return bytes == nullptr ? "" : *bytes;
}

void MemoryFileSystem::SetContents(const std::string& path, std::string bytes) {
  MutexLock lock(&mu_);
  files_[path] = std::make_shared<std::string>(std::move(bytes));
}

void MemoryFileSystem::Clear() {
  MutexLock lock(&mu_);
  files_.clear();
}

absl::StatusOr<std::unique_ptr<FileContents>> MemoryFileSystem::ReadFile(
    const std::string& path) {
  MutexLock lock(&mu_);
  std::shared_ptr<std::string> bytes = Find(path);
  if (bytes == nullptr) return Missing(path);
  return std::make_unique<class Contents>(*bytes);
}

absl::StatusOr<std::unique_ptr<WritableFile>> MemoryFileSystem::OpenForAppend(
    const std::string& path) {
  MutexLock lock(&mu_);
  std::shared_ptr<std::string>& bytes = files_[path];
  if (bytes == nullptr) bytes = std::make_shared<std::string>();
  return std::make_unique<File>(this, bytes);
}

absl::StatusOr<std::unique_ptr<WritableFile>> MemoryFileSystem::CreateEmpty(
    const std::string& path, const std::string&) {
  MutexLock lock(&mu_);
  auto bytes = std::make_shared<std::string>();
  files_[path] = bytes;
  return std::make_unique<File>(this, bytes);
}

absl::StatusOr<uint64_t> MemoryFileSystem::FileSize(const std::string& path) {
  MutexLock lock(&mu_);
  std::shared_ptr<std::string> bytes = Find(path);
  if (bytes == nullptr) return Missing(path);
  return bytes->size();
}

absl::Status MemoryFileSystem::Truncate(const std::string& path,
                                        uint64_t size) {
  MutexLock lock(&mu_);
  std::shared_ptr<std::string> bytes = Find(path);
  if (bytes == nullptr) return Missing(path);
  bytes->resize(size);
  return absl::OkStatus();
}

absl::Status MemoryFileSystem::Rename(const std::string& from,
                                      const std::string& to) {
  MutexLock lock(&mu_);
  auto it = files_.find(from);
  if (it == files_.end()) return Missing(from);
  files_[to] = it->second;
  files_.erase(from);
  return absl::OkStatus();
}

absl::Status MemoryFileSystem::SyncDir(const std::string&) {
  return absl::OkStatus();
}

absl::Status MemoryFileSystem::Remove(const std::string& path) {
  MutexLock lock(&mu_);
  if (files_.erase(path) == 0) return Missing(path);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<FileLock>> MemoryFileSystem::Lock(
    const std::string&) {
  return std::make_unique<NoLock>();
}

}  // namespace persist::testing
