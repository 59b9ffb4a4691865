// A FileSystem in memory, for fuzzing: the engine's every file access, at
// the speed of a string copy. One process; no durability to speak of
// (Sync and SyncDir succeed), which is all the WAL fuzzer needs.
//
// Thread-safety: all methods may be called concurrently.
#ifndef PERSIST_TESTS_FUZZ_MEMORY_FILE_SYSTEM_H_
#define PERSIST_TESTS_FUZZ_MEMORY_FILE_SYSTEM_H_

#include <map>
#include <memory>
#include <string>

#include "base/mutex.h"
#include "storage/file_system.h"

namespace persist::testing {

class MemoryFileSystem final : public FileSystem {
 public:
  // The file's bytes ("" if there is none), and replacing them.
  std::string Contents(const std::string& path) const;
  void SetContents(const std::string& path, std::string bytes);
  void Clear();

  absl::StatusOr<std::unique_ptr<FileContents>> ReadFile(
      const std::string& path) override;
  absl::StatusOr<std::unique_ptr<WritableFile>> OpenForAppend(
      const std::string& path) override;
  absl::StatusOr<std::unique_ptr<WritableFile>> CreateEmpty(
      const std::string& path, const std::string& permissions_of) override;
  absl::StatusOr<uint64_t> FileSize(const std::string& path) override;
  absl::Status Truncate(const std::string& path, uint64_t size) override;
  absl::Status Rename(const std::string& from, const std::string& to) override;
  absl::Status SyncDir(const std::string& dir) override;
  absl::Status Remove(const std::string& path) override;
  absl::StatusOr<std::unique_ptr<FileLock>> Lock(
      const std::string& path) override;

 private:
  class File;
  // Files by path; a file renamed or removed while open keeps its bytes.
  std::shared_ptr<std::string> Find(const std::string& path) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  mutable Mutex mu_;
  std::map<std::string, std::shared_ptr<std::string>> files_
      ABSL_GUARDED_BY(mu_);
};

}  // namespace persist::testing

#endif  // PERSIST_TESTS_FUZZ_MEMORY_FILE_SYSTEM_H_
