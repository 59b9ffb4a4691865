// How durable a write is when it is acknowledged (DESIGN.md section 5).
#ifndef PERSIST_STORAGE_DURABILITY_H_
#define PERSIST_STORAGE_DURABILITY_H_

#include "absl/strings/string_view.h"

namespace persist {

enum class Durability {
  // Memory only: lost on restart unless the key is written again with
  // another durability, an unflushed ASYNC change of the key is pending
  // (the flusher then writes the latest value), or a Shrink snapshots it
  // and no later record of the key supersedes it.
  kMemory,
  // Memory now; the background flusher writes the key's latest value within
  // one sync interval and fsyncs it. A crash loses at most that interval.
  kAsync,
  // Acknowledged once the record is in the kernel (write(2) returned):
  // survives a crash of the process, not of the machine.
  kWrite,
  // Acknowledged once the record is on disk (fdatasync returned): survives a
  // crash of the machine.
  kFsync,
};
// Arrays indexed by Durability have this many entries.
inline constexpr int kDurabilityCount =
    static_cast<int>(Durability::kFsync) + 1;

// "MEMORY", "ASYNC", "WRITE" or "FSYNC".
absl::string_view DurabilityName(Durability durability);

}  // namespace persist

#endif  // PERSIST_STORAGE_DURABILITY_H_
