// The file layer: every file access of the engine goes through FileSystem,
// so that tests can inject short writes, I/O errors, full disks, failed
// fsyncs and power loss at chosen points (tests/storage/
// fault_injection_file_system.h). PosixFileSystem() is the real one.
//
// Errors carry the path, the operation and the system's reason.
// Thread-safety: a FileSystem may be used from many threads. A WritableFile
// takes one Append at a time and one Sync at a time, but an Append and a
// Sync may run together (the WAL writes its next batch while the last one
// syncs): Sync makes durable at least what the Appends that returned before
// it began wrote.
#ifndef PERSIST_STORAGE_FILE_SYSTEM_H_
#define PERSIST_STORAGE_FILE_SYSTEM_H_

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace persist {

// A file opened for appending.
class WritableFile {
 public:
  virtual ~WritableFile() = default;

  // Appends all of `data`, retrying short writes. On error an unknown prefix
  // of `data` may have reached the file.
  virtual absl::Status Append(absl::string_view data) = 0;

  // fdatasync(2): everything appended so far is on disk when this returns
  // OK. After a failure nothing is known about unsynced data (the kernel may
  // have dropped it), so callers must not retry as if it had not happened.
  virtual absl::Status Sync() = 0;

  virtual absl::Status Close() = 0;
};

// A whole file's bytes, read once (memory-mapped by the POSIX layer).
class FileContents {
 public:
  virtual ~FileContents() = default;
  virtual absl::string_view data() const = 0;
};

// A file opened for reading at offsets (LevelDB's RandomAccessFile). It
// reads the file it opened: a rename over its path later, or an unlink,
// does not change what it reads.
class RandomAccessFile {
 public:
  virtual ~RandomAccessFile() = default;
  // Replaces `*out` with up to `n` bytes at `offset`: fewer only where the
  // file ends. Safe to call from several threads at once.
  virtual absl::Status Read(uint64_t offset, size_t n,
                            std::string* out) const = 0;
};

// Held while a process uses a data file; released on destruction.
class FileLock {
 public:
  virtual ~FileLock() = default;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // NotFound if the file does not exist.
  virtual absl::StatusOr<std::unique_ptr<FileContents>> ReadFile(
      const std::string& path) = 0;

  // NotFound if the file does not exist. This default reads the whole file
  // through ReadFile at once and serves reads from it (test file layers);
  // the real file system only opens the file, and reads it with pread(2).
  virtual absl::StatusOr<std::unique_ptr<RandomAccessFile>> OpenForReading(
      const std::string& path);

  // Opens for appending, creating an empty file (owner-only, 0600) if there
  // is none.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> OpenForAppend(
      const std::string& path) = 0;

  // Creates an empty file, replacing one that exists. With
  // `permissions_of`, the new file gets that file's permission bits (a
  // rewrite of a 0600 WAL stays 0600), plus read and write for its owner;
  // else 0600 less the umask (the file holds every value). It is never
  // readable by others before it has its final bits.
  virtual absl::StatusOr<std::unique_ptr<WritableFile>> CreateEmpty(
      const std::string& path, const std::string& permissions_of) = 0;

  // NotFound if the file does not exist.
  virtual absl::StatusOr<uint64_t> FileSize(const std::string& path) = 0;

  // Cuts the file to `size` bytes and syncs it.
  virtual absl::Status Truncate(const std::string& path, uint64_t size) = 0;

  // rename(2): atomically replaces `to`. Durable only after SyncDir.
  virtual absl::Status Rename(const std::string& from,
                              const std::string& to) = 0;

  // fsync(2) of a folder, making renames and creations in it durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;

  // NotFound if the file does not exist.
  virtual absl::Status Remove(const std::string& path) = 0;

  // An exclusive lock between processes on `path` (created 0600 if
  // missing).
  // FailedPrecondition if another process holds it.
  virtual absl::StatusOr<std::unique_ptr<FileLock>> Lock(
      const std::string& path) = 0;
};

// The real file system (POSIX calls). Process-wide; never destroyed.
FileSystem* PosixFileSystem();

// What the real file system returns when a call fails with `error_number`:
// "<operation> <path>: <reason> (errno N)", with the matching code
// (NotFound, PermissionDenied, ResourceExhausted for ENOSPC, ...).
absl::Status ErrnoStatus(absl::string_view operation, const std::string& path,
                         int error_number);

// The folder part of `path` ("." for a bare file name).
std::string DirName(const std::string& path);

}  // namespace persist

#endif  // PERSIST_STORAGE_FILE_SYSTEM_H_
