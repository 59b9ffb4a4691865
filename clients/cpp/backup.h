// Backups: persistd's Snapshot RPC written to a local file (Client::Backup).
//
//   absl::StatusOr<persist::client::BackupResult> backup =
//       client->Backup("users-2026-12-03.wal");
//   if (!backup.ok()) return;  // its status says why
//
// The file is written as `path`.partial, checked (every byte arrived, in
// order, and as many as the server announced), fsynced and renamed to
// `path`, whose folder is then fsynced: `path` is a whole copy or absent,
// even after a crash (on error it is absent, but for a failed fsync of the
// folder, which the error names). A backup opens as any data file does:
// persistd --data=PATH, or persistctl check --file=PATH. Never over a file:
// AlreadyExists if `path` or `path`.partial (another backup) exists.
#ifndef PERSIST_CLIENTS_CPP_BACKUP_H_
#define PERSIST_CLIENTS_CPP_BACKUP_H_

#include <cstdint>
#include <functional>
#include <string>

#include "absl/time/time.h"

namespace persist::client {

struct BackupOptions {
  // For the whole copy; none by default (a copy takes as long as the file
  // needs to stream).
  absl::Duration deadline = absl::InfiniteDuration();
  // Called after each chunk with the bytes written so far and the total.
  std::function<void(uint64_t written, uint64_t total)> progress;
};

struct BackupResult {
  std::string path;
  uint64_t bytes = 0;
  uint64_t records = 0;  // as persistd's Stats counts wal_records
};

}  // namespace persist::client

#endif  // PERSIST_CLIENTS_CPP_BACKUP_H_
