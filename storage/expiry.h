// Expiry (TTL): when an entry stops being visible, and the clock that says
// what time it is (DESIGN.md sections 3 and 5).
//
// An entry may carry an expiry time. From that time on it is invisible to
// reads (Get, Scan, preconditions and Update functions see no entry), and
// the store deletes it soon after: a D record in the WAL (an ASYNC write,
// so within StoreOptions::sync_interval) and a change marked `expired`.
// In the WAL an expiry is an "E <map>:<key>" record holding an RFC 3339
// UTC time, right after the key's S record (wal_format.h); a later S
// without one clears it.
#ifndef PERSIST_STORAGE_EXPIRY_H_
#define PERSIST_STORAGE_EXPIRY_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace persist {

// What time it is, for expiry. The store reads it on every read of an entry
// that has an expiry. Tests pass their own to move time by hand.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual absl::Time Now() const = 0;
};

// absl::Now().
const Clock& RealClock();

// Expiry times as entries keep them: nanoseconds since the Unix epoch, 0
// for none. Times at or before the epoch become 1 (long expired).
inline constexpr int64_t kNoExpiry = 0;
int64_t ExpiryNanos(absl::Time expires);
// The absl::Time of `nanos`; absl::InfiniteFuture() for kNoExpiry.
absl::Time ExpiryTime(int64_t nanos);

// "2026-12-03T15:04:05.123456789Z", as E records hold it.
std::string FormatExpiry(int64_t nanos);
// Parses an E record's time (RFC 3339, any offset). InvalidArgument saying
// what is wrong.
absl::StatusOr<int64_t> ParseExpiry(absl::string_view text);

}  // namespace persist

#endif  // PERSIST_STORAGE_EXPIRY_H_
