// A clock for expiry tests (storage/expiry.h) that moves only when told.
#ifndef PERSIST_TESTS_STORAGE_MANUAL_CLOCK_H_
#define PERSIST_TESTS_STORAGE_MANUAL_CLOCK_H_

#include "absl/time/time.h"
#include "base/mutex.h"
#include "storage/expiry.h"

namespace persist::testing {

// persist::Mutex, not absl::Mutex: the concurrency tests run under
// ThreadSanitizer, which does not see Debian's uninstrumented abseil lock.
class ManualClock final : public Clock {
 public:
  absl::Time Now() const override {
    MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration by) {
    MutexLock lock(&mu_);
    now_ += by;
  }

 private:
  mutable Mutex mu_;
  absl::Time now_ ABSL_GUARDED_BY(mu_) =
      absl::FromUnixSeconds(1796313600);  // 2026-12-03 16:00Z
};

}  // namespace persist::testing

#endif  // PERSIST_TESTS_STORAGE_MANUAL_CLOCK_H_
