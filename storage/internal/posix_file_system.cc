// FileSystem over POSIX calls.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "storage/file_system.h"

namespace persist {
namespace {

// Files persist creates hold every value: only their owner may read them.
constexpr mode_t kNewFileMode = 0600;

absl::Status ErrnoError(absl::string_view operation, const std::string& path,
                        int error_number) {
  return ErrnoStatus(operation, path, error_number);
}

class PosixWritableFile final : public WritableFile {
 public:
  PosixWritableFile(std::string path, int fd)
      : path_(std::move(path)), fd_(fd) {}
  ~PosixWritableFile() override {
    if (fd_ >= 0) ::close(fd_);
  }

  absl::Status Append(absl::string_view data) override {
    while (!data.empty()) {
      const ssize_t n = ::write(fd_, data.data(), data.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return ErrnoError("write to", path_, errno);
      }
      data.remove_prefix(static_cast<size_t>(n));
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return ErrnoError("fdatasync", path_, errno);
    return absl::OkStatus();
  }

  absl::Status Close() override {
    const int fd = fd_;
    fd_ = -1;
    if (fd >= 0 && ::close(fd) != 0) return ErrnoError("close", path_, errno);
    return absl::OkStatus();
  }

 private:
  const std::string path_;
  int fd_;
};

class MappedFileContents final : public FileContents {
 public:
  MappedFileContents(void* base, size_t size) : base_(base), size_(size) {}
  ~MappedFileContents() override {
    if (base_ != nullptr) ::munmap(base_, size_);
  }
  absl::string_view data() const override {
    return {static_cast<const char*>(base_), size_};
  }

 private:
  void* const base_;
  const size_t size_;
};

class PosixRandomAccessFile final : public RandomAccessFile {
 public:
  PosixRandomAccessFile(std::string path, int fd)
      : path_(std::move(path)), fd_(fd) {}
  ~PosixRandomAccessFile() override { ::close(fd_); }

  absl::Status Read(uint64_t offset, size_t n,
                    std::string* out) const override {
    out->resize(n);
    size_t got = 0;
    while (got < n) {
      const ssize_t r = ::pread(fd_, out->data() + got, n - got,
                                static_cast<off_t>(offset + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        const int error = errno;
        out->clear();
        return ErrnoError(absl::StrCat("read at offset ", offset + got, " of"),
                          path_, error);
      }
      if (r == 0) break;  // the end of the file
      got += static_cast<size_t>(r);
    }
    out->resize(got);
    return absl::OkStatus();
  }

 private:
  const std::string path_;
  const int fd_;
};

class PosixFileLock final : public FileLock {
 public:
  explicit PosixFileLock(int fd) : fd_(fd) {}
  ~PosixFileLock() override { ::close(fd_); }  // closing releases flock

 private:
  const int fd_;
};

class Posix final : public FileSystem {
 public:
  absl::StatusOr<std::unique_ptr<FileContents>> ReadFile(
      const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("open", path, errno);
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      const int error = errno;
      ::close(fd);
      return ErrnoError("stat", path, error);
    }
    const auto size = static_cast<size_t>(st.st_size);
    void* base = nullptr;
    if (size > 0) {
      // MAP_POPULATE maps every page now rather than one fault at a time.
      base =
          ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
      if (base == MAP_FAILED) {
        const int error = errno;
        ::close(fd);
        return ErrnoError("mmap", path, error);
      }
      // Recovery reads the file once, front to back.
      ::madvise(base, size, MADV_SEQUENTIAL | MADV_WILLNEED);
    }
    ::close(fd);  // the mapping stays valid
    return std::make_unique<MappedFileContents>(base, size);
  }

  absl::StatusOr<std::unique_ptr<RandomAccessFile>> OpenForReading(
      const std::string& path) override {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("open", path, errno);
    return std::make_unique<PosixRandomAccessFile>(path, fd);
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> OpenForAppend(
      const std::string& path) override {
    return Open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                "open for appending");
  }

  absl::StatusOr<std::unique_ptr<WritableFile>> CreateEmpty(
      const std::string& path, const std::string& permissions_of) override {
    mode_t mode = kNewFileMode;
    if (!permissions_of.empty()) {
      struct stat st;
      if (::stat(permissions_of.c_str(), &st) != 0) {
        return ErrnoError("stat", permissions_of, errno);
      }
      // Permission bits only (no setuid, setgid or sticky bit), and always
      // writable by its owner: persist appends to what it creates.
      mode = (st.st_mode & 0777) | S_IRUSR | S_IWUSR;
    }
    // Created owner-only, then given the bits it is to keep: never readable
    // by others in between.
    const int fd = ::open(path.c_str(),
                          O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC,
                          kNewFileMode);
    if (fd < 0) return ErrnoError("create", path, errno);
    // open() applied the umask, and kept the mode of a file that existed.
    if (!permissions_of.empty() && ::fchmod(fd, mode) != 0) {
      const int error = errno;
      ::close(fd);
      return ErrnoError("chmod", path, error);
    }
    return std::make_unique<PosixWritableFile>(path, fd);
  }

  absl::StatusOr<uint64_t> FileSize(const std::string& path) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoError("stat", path, errno);
    return static_cast<uint64_t>(st.st_size);
  }

  absl::Status Truncate(const std::string& path, uint64_t size) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("open for truncating", path, errno);
    absl::Status status;
    if (::ftruncate(fd, static_cast<off_t>(size)) != 0) {
      status = ErrnoError("truncate", path, errno);
    } else if (::fdatasync(fd) != 0) {
      status = ErrnoError("fdatasync", path, errno);
    }
    ::close(fd);
    return status;
  }

  absl::Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) {
      return ErrnoError("rename", absl::StrCat(from, " to ", to), errno);
    }
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return ErrnoError("open folder", dir, errno);
    absl::Status status;
    if (::fsync(fd) != 0) status = ErrnoError("fsync folder", dir, errno);
    ::close(fd);
    return status;
  }

  absl::Status Remove(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return ErrnoError("remove", path, errno);
    return absl::OkStatus();
  }

  absl::StatusOr<std::unique_ptr<FileLock>> Lock(
      const std::string& path) override {
    const int fd =
        ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, kNewFileMode);
    if (fd < 0) return ErrnoError("open lock file", path, errno);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      const int error = errno;
      ::close(fd);
      if (error == EWOULDBLOCK) {
        return absl::FailedPreconditionError(absl::StrCat(
            "lock ", path,
            ": another process has this data file open; stop it or choose "
            "another data file"));
      }
      return ErrnoError("lock", path, error);
    }
    return std::make_unique<PosixFileLock>(fd);
  }

 private:
  static absl::StatusOr<std::unique_ptr<WritableFile>> Open(
      const std::string& path, int flags, absl::string_view operation) {
    const int fd = ::open(path.c_str(), flags, kNewFileMode);
    if (fd < 0) return ErrnoError(operation, path, errno);
    return std::make_unique<PosixWritableFile>(path, fd);
  }
};

}  // namespace

FileSystem* PosixFileSystem() {
  static Posix* const file_system = new Posix();
  return file_system;
}

absl::Status ErrnoStatus(absl::string_view operation, const std::string& path,
                         int error_number) {
  // Not absl::ErrnoToStatus, which would append the reason a second time.
  return absl::Status(
      absl::ErrnoToStatusCode(error_number),
      absl::StrCat(operation, " ", path, ": ", std::strerror(error_number),
                   " (errno ", error_number, ")"));
}

std::string DirName(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace persist
