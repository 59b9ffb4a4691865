// Client::Backup (backup.h): the Snapshot stream into `path`.partial, then
// fsync, rename without replacing, fsync of the folder.
#include "clients/cpp/backup.h"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "clients/cpp/persist_client.h"

namespace persist::client {
namespace {

absl::Status Errno(absl::string_view what, const std::string& path) {
  const int error = errno;
  return absl::Status(
      error == ENOSPC ? absl::StatusCode::kResourceExhausted
                      : absl::StatusCode::kFailedPrecondition,
      absl::StrCat("backup: cannot ", what, " ", path, ": ",
                   std::strerror(error), " (errno ", error, ")"));
}

std::string FolderOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The partial file: created 0600 (it holds every value) where none is,
// removed by its destructor unless it was renamed.
class PartialFile {
 public:
  explicit PartialFile(std::string path) : path_(std::move(path)) {}
  ~PartialFile() {
    if (fd_ >= 0) close(fd_);
    if (created_ && !kept_) unlink(path_.c_str());
  }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  // Never over another's: two backups to one path must not write one file.
  absl::Status Create() {
    fd_ = open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd_ < 0 && errno == EEXIST) {
      return absl::AlreadyExistsError(absl::StrCat(
          "backup: ", path_,
          " exists: another backup to that path is running, or one was "
          "interrupted; remove it once none runs"));
    }
    if (fd_ < 0) return Errno("create", path_);
    created_ = true;
    return absl::OkStatus();
  }
  absl::Status Write(absl::string_view data) {
    while (!data.empty()) {
      const ssize_t n = write(fd_, data.data(), data.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Errno("write", path_);
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }
  absl::Status SyncAndClose() {
    if (fsync(fd_) != 0) return Errno("fsync", path_);
    const int fd = fd_;
    fd_ = -1;
    if (close(fd) != 0) return Errno("close", path_);
    return absl::OkStatus();
  }
  // Moves the file to `to` unless something is there already, atomically
  // either way: renameat2's RENAME_NOREPLACE, or where the file system or
  // kernel lacks it, a hard link (which fails if `to` exists) and an unlink.
  absl::Status RenameTo(const std::string& to) {
    if (renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, to.c_str(),
                  RENAME_NOREPLACE) == 0) {
      kept_ = true;
      return absl::OkStatus();
    }
    if (errno == EEXIST) return ExistsError(to);
    if (errno != EINVAL && errno != ENOSYS) {
      return Errno(absl::StrCat("rename ", path_, " to"), to);
    }
    if (link(path_.c_str(), to.c_str()) != 0) {
      if (errno == EEXIST) return ExistsError(to);
      return Errno(absl::StrCat("link ", path_, " to"), to);
    }
    return absl::OkStatus();  // the destructor unlinks the partial name
  }

  static absl::Status ExistsError(const std::string& path) {
    return absl::AlreadyExistsError(
        absl::StrCat("backup: ", path,
                     " exists; a backup never replaces a file: remove it, "
                     "or choose another name"));
  }

 private:
  const std::string path_;
  int fd_ = -1;
  bool created_ = false;
  bool kept_ = false;
};

absl::Status SyncFolder(const std::string& folder) {
  const int fd = open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open the folder", folder);
  const int synced = fsync(fd);
  const absl::Status status =
      synced == 0 ? absl::OkStatus() : Errno("fsync the folder", folder);
  close(fd);
  return status;
}

}  // namespace

absl::StatusOr<BackupResult> Client::Backup(const std::string& path,
                                            const BackupOptions& options) {
  if (path.empty()) {
    return absl::InvalidArgumentError("backup: give the file to write");
  }
  struct stat existing;
  if (stat(path.c_str(), &existing) == 0) {
    return PartialFile::ExistsError(path);
  }
  PartialFile partial(absl::StrCat(path, ".partial"));
  if (absl::Status status = partial.Create(); !status.ok()) return status;

  grpc::ClientContext context;
  Prepare(connection_, {.deadline = options.deadline}, &context);
  std::unique_ptr<grpc::ClientReaderInterface<v1::SnapshotResponse>> stream =
      connection_.stub->Snapshot(&context, v1::SnapshotRequest());
  BackupResult result;
  result.path = path;
  uint64_t written = 0;
  bool first = true;
  v1::SnapshotResponse chunk;
  while (stream->Read(&chunk)) {
    if (first) {
      result.bytes = chunk.total_bytes();
      result.records = chunk.records();
      first = false;
    }
    // Anything out of order is a broken server or stream: refused rather
    // than written as a file that looks whole.
    if (chunk.offset() != written || chunk.total_bytes() != result.bytes ||
        written + chunk.data().size() > result.bytes) {
      context.TryCancel();
      stream->Finish();  // cancelled: its status says so
      return absl::DataLossError(absl::StrCat(
          "backup: the server sent ", chunk.data().size(), " bytes at offset ",
          chunk.offset(), " of ", chunk.total_bytes(), " after ", written,
          " of ", result.bytes, "; nothing was kept: take the backup again"));
    }
    if (absl::Status status = partial.Write(chunk.data()); !status.ok()) {
      context.TryCancel();
      stream->Finish();  // cancelled: its status says so
      return status;
    }
    written += chunk.data().size();
    if (options.progress && !chunk.data().empty()) {
      options.progress(written, result.bytes);
    }
  }
  if (absl::Status status = FromGrpc(stream->Finish()); !status.ok()) {
    return absl::Status(status.code(),
                        absl::StrCat("backup: ", status.message(),
                                     "; nothing was kept at ", path));
  }
  if (first || written != result.bytes) {
    return absl::DataLossError(absl::StrCat(
        "backup: the copy ended after ", written, " of ", result.bytes,
        " bytes; nothing was kept: take the backup again"));
  }
  if (absl::Status status = partial.SyncAndClose(); !status.ok()) {
    return status;
  }
  if (absl::Status status = partial.RenameTo(path); !status.ok()) {
    return status;
  }
  if (absl::Status status = SyncFolder(FolderOf(path)); !status.ok()) {
    // The copy is whole, but its name may not survive a crash.
    return absl::Status(
        status.code(),
        absl::StrCat(status.message(), "; ", path,
                     " holds the whole copy, but may be lost in a crash"));
  }
  return result;
}

}  // namespace persist::client
