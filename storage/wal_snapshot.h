// WalSnapshot: a consistent copy of a store's WAL, taken while writes go on
// (Store::StartSnapshot), for backups and for seeding replicas (DESIGN.md
// sections 6 and 9). The copy is the file's first `bytes` bytes at a
// moment between two of the WAL's writes: its header and whole batches
// only, so it opens as any WAL does, with nothing torn to cut.
#ifndef PERSIST_STORAGE_WAL_SNAPSHOT_H_
#define PERSIST_STORAGE_WAL_SNAPSHOT_H_

#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "storage/file_system.h"

namespace persist {

struct WalSnapshot {
  // The WAL file, opened when the copy was taken. Records written after
  // that land past `bytes`; a Shrink that replaces the file leaves this
  // one (unlinked, still open) as it is.
  std::unique_ptr<RandomAccessFile> file;
  std::string path;      // where it was, for messages
  uint64_t bytes = 0;    // the copy's size
  uint64_t records = 0;  // its records, as StoreStats::wal_records counts
  // The last commit log entry it holds (StoreStats::commit_seq), 0: none.
  uint64_t commit_seq = 0;

  // Replaces `*out` with up to `n` bytes of the copy at `offset` (none at
  // or past its end). DataLoss if the file holds fewer than it should.
  absl::Status Read(uint64_t offset, size_t n, std::string* out) const {
    const uint64_t want =
        offset >= bytes ? 0 : std::min<uint64_t>(n, bytes - offset);
    if (want == 0) {
      out->clear();
      return absl::OkStatus();
    }
    if (absl::Status status = file->Read(offset, want, out); !status.ok()) {
      return status;
    }
    if (out->size() < want) {
      return absl::DataLossError(absl::StrCat(
          "the copy of ", path, " ends at byte ", offset + out->size(),
          ", before the ", bytes,
          " written to it: something else cut the "
          "file; check it (persistctl check) before persistd writes again"));
    }
    return absl::OkStatus();
  }
};

}  // namespace persist

#endif  // PERSIST_STORAGE_WAL_SNAPSHOT_H_
