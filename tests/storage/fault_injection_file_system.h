// A FileSystem over the real one that injects faults and simulates power
// loss, for crash and failure tests (STYLE: LevelDB's fault_injection_test).
//
// Faults: FailAfter(op, n, error) makes the (n+1)-th next call of `op` fail
// with `error`; an Append can fail after writing part of its data (a short
// write). Crash() makes every later call fail, as if the process had died
// (the real file keeps what was written).
//
// Slowness: HoldNext(op) makes the next call of `op` wait until Release().
//
// Power loss: DropUnsyncedData() returns every file to what a machine
// would hold after losing power: appended bytes not yet fsynced are cut,
// files created and renames done since the last sync of their folder are
// undone.
//
// Thread-safety: all methods may be called concurrently.
#ifndef PERSIST_TESTS_STORAGE_FAULT_INJECTION_FILE_SYSTEM_H_
#define PERSIST_TESTS_STORAGE_FAULT_INJECTION_FILE_SYSTEM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/mutex.h"
#include "storage/file_system.h"

namespace persist::testing {

class FaultInjectionFileSystem final : public FileSystem {
 public:
  enum class Op { kAppend, kSync, kCreate, kRename, kSyncDir, kTruncate };

  FaultInjectionFileSystem();
  ~FaultInjectionFileSystem() override;

  // The (skip+1)-th next call of `op` fails with `error`. For kAppend,
  // `partial_bytes` of the data are written first (a short write).
  void FailAfter(Op op, int skip, absl::Status error, size_t partial_bytes = 0);
  // Every later call fails, as after the death of the process.
  void Crash();
  // Crash() once `ops` more faultable calls (any Op) have succeeded.
  void CrashAfter(int ops);
  // Cuts what was not made durable (see above) and clears Crash() and the
  // pending faults.
  void DropUnsyncedData();

  // Holds the next call of `op` before it does anything, until Release():
  // for tests of what goes on while an operation is slow. WaitUntilHeld
  // waits for that call to arrive (false after `timeout`).
  void HoldNext(Op op);
  bool WaitUntilHeld(absl::Duration timeout) const;
  void Release();

  // Calls of `op` so far.
  int64_t Count(Op op) const;
  // Waits until Count(op) >= n; false after `timeout`.
  bool WaitForCount(Op op, int64_t n, absl::Duration timeout) const;

  absl::StatusOr<std::unique_ptr<FileContents>> ReadFile(
      const std::string& path) override;
  absl::StatusOr<std::unique_ptr<RandomAccessFile>> OpenForReading(
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
  struct State {
    std::string path;
    uint64_t synced_size = 0;
    bool name_durable = true;  // false until its folder is synced
  };
  struct PendingRename {
    std::shared_ptr<State> state;  // the file that moved
    std::string from;
    std::string to;
    // What `to` held durably before, if anything.
    bool had_old = false;
    std::string old_contents;
  };
  struct Fault {
    int skip;
    absl::Status error;
    size_t partial_bytes;
  };

  // OK, or the fault to inject for this call of `op`.
  absl::Status Check(Op op, size_t* partial_bytes = nullptr)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  std::shared_ptr<State> StateFor(const std::string& path)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Synced(const std::shared_ptr<State>& state, uint64_t size);

  FileSystem* const base_;
  mutable Mutex mu_;
  mutable CondVar counted_;
  std::map<std::string, std::shared_ptr<State>> files_ ABSL_GUARDED_BY(mu_);
  std::vector<PendingRename> renames_ ABSL_GUARDED_BY(mu_);
  std::map<Op, Fault> faults_ ABSL_GUARDED_BY(mu_);
  std::map<Op, int64_t> counts_ ABSL_GUARDED_BY(mu_);
  bool crashed_ ABSL_GUARDED_BY(mu_) = false;
  int crash_countdown_ ABSL_GUARDED_BY(mu_) = -1;  // -1: no crash planned
  std::optional<Op> hold_ ABSL_GUARDED_BY(mu_);    // the next call to hold
  bool holding_ ABSL_GUARDED_BY(mu_) = false;      // a call is held now
  bool released_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace persist::testing

#endif  // PERSIST_TESTS_STORAGE_FAULT_INJECTION_FILE_SYSTEM_H_
