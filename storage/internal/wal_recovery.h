// Recovery: reads a WAL's bytes into the declared maps (DESIGN.md section
// 3). The one recovery path: Store::Open, DeclareMap's adoption of orphans,
// and the offline check and repair (storage/check.h) all go through it.
//
// Structure first (wal_reader.h), then every record of a declared map is
// decoded, in parallel across `threads` (it is most of the work), and
// applied in file order per key, so that the last record of each key wins;
// records of other maps become orphans, kept verbatim. Damage is collected,
// not acted on: whether it refuses the file (strict) or is skipped
// (skip_corrupt) is the caller's choice, made the same way everywhere by
// FirstProblem.
#ifndef PERSIST_STORAGE_INTERNAL_WAL_RECOVERY_H_
#define PERSIST_STORAGE_INTERNAL_WAL_RECOVERY_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"
#include "json/json_codec.h"
#include "storage/internal/orphan_records.h"
#include "storage/internal/sharded_map.h"
#include "storage/internal/wal_reader.h"

namespace persist {

// A declared map that recovery fills.
struct RecoveryTarget {
  // An empty message of the map's type, to decode values into.
  const google::protobuf::Message* prototype = nullptr;
  ShardedMap* entries = nullptr;  // also names the map
};

struct RecoveryOptions {
  std::string path;  // for messages
  const JsonCodec* codec = nullptr;
  int threads = 1;
  // Every problem (skip_corrupt, check, repair), or only enough to know the
  // first one in the file (a strict open, which refuses at the first).
  bool all_problems = true;
  // If set, sees every set record of a declared map that decoded, from the
  // decoding threads at once: it must be thread-safe.
  std::function<void(const WalRecord&, const google::protobuf::Message&)>
      inspect;
};

struct Recovered {
  WalScan scan;
  // Structural and decoding problems, in file order. Records with problems
  // were not applied.
  std::vector<WalProblem> problems;
  int64_t ignored_unknown_fields = 0;
  // Threads that decoded: up to RecoveryOptions::threads, fewer for a small
  // file.
  int decode_threads = 1;
};

// Recovers `contents`, the WAL at options.path, into `maps` (by name) and
// `orphans`. FailedPrecondition if it is not a WAL at all.
absl::StatusOr<Recovered> RecoverWal(
    absl::string_view contents,
    const absl::flat_hash_map<std::string, RecoveryTarget>& maps,
    OrphanRecords* orphans, const RecoveryOptions& options);

// Decodes `orphans`, the records kept for the map `target` names, into it.
struct Adopted {
  std::vector<WalProblem> problems;  // in file order
  int64_t applied = 0;
  int64_t ignored_unknown_fields = 0;
};
Adopted AdoptOrphans(const std::vector<OrphanRecords::Orphan>& orphans,
                     const RecoveryTarget& target,
                     const RecoveryOptions& options);

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_WAL_RECOVERY_H_
