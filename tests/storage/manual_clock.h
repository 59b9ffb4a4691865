// A clock for expiry tests (storage/expiry.h) that moves only when told.
#ifndef PERSIST_TESTS_STORAGE_MANUAL_CLOCK_H_
#define PERSIST_TESTS_STORAGE_MANUAL_CLOCK_H_

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "storage/expiry.h"

namespace persist::testing {

class ManualClock final : public Clock {
 public:
  absl::Time Now() const override {
    absl::MutexLock lock(&mu_);
    return now_;
  }
  void Advance(absl::Duration by) {
    absl::MutexLock lock(&mu_);
    now_ += by;
  }

 private:
  mutable absl::Mutex mu_;
  absl::Time now_ = absl::FromUnixSeconds(1796313600);  // 2026-12-03 16:00Z
};

}  // namespace persist::testing

#endif  // PERSIST_TESTS_STORAGE_MANUAL_CLOCK_H_
