// Recovery, the second half (the first is wal_reader.h): decodes the
// scanned records and applies them to the declared maps, in file order;
// records of other maps become orphans. Also adopts orphans into a map
// declared after opening.
//
// Decoding runs in parallel across `threads` (it is most of the work);
// applying is sequential so that the last record of each key wins.
#ifndef PERSIST_STORAGE_INTERNAL_WAL_RECOVERY_H_
#define PERSIST_STORAGE_INTERNAL_WAL_RECOVERY_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "storage/dynamic_map.h"
#include "base/logger.h"
#include "storage/internal/orphan_records.h"
#include "storage/internal/wal_reader.h"

namespace persist {

struct RecoveryCounters {
  int64_t records = 0;                 // applied to maps or orphans
  int64_t skipped_corrupt = 0;         // under skip_corrupt
  int64_t ignored_unknown_fields = 0;  // under ignore_unknown_fields
};

struct RecoveryOptions {
  std::string path;  // for messages
  bool skip_corrupt = false;
  int threads = 1;
  LogSink log;
};

class WalRecovery {
 public:
  // DataLoss naming the first damaged record (line, map, key, reason)
  // unless `options.skip_corrupt`.
  static absl::Status Apply(
      const WalScan& scan,
      const absl::flat_hash_map<std::string, DynamicMap*>& maps,
      OrphanRecords* orphans, const RecoveryOptions& options,
      RecoveryCounters* counters);

  // Decodes `orphans` of `map` into it. On DataLoss (strict mode) nothing is
  // applied and the caller keeps the orphans.
  static absl::Status Adopt(const std::vector<OrphanRecords::Orphan>& orphans,
                            DynamicMap* map, const RecoveryOptions& options,
                            RecoveryCounters* counters);

 private:
  // DynamicMap::Recover, which only this class may call. Thread-safe.
  static void RecoverInto(DynamicMap* map, absl::string_view key,
                          std::shared_ptr<const google::protobuf::Message> value);
};

}  // namespace persist

#endif  // PERSIST_STORAGE_INTERNAL_WAL_RECOVERY_H_
