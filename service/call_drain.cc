#include "service/call_drain.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace persist::service {

bool CallDrain::Enter() {
  // Counted before draining_ is read, and Drain sets draining_ before it
  // reads the count (both sequentially consistent): either the call sees
  // the drain, or the drain sees the call and waits for it.
  in_flight_.fetch_add(1, std::memory_order_seq_cst);
  if (!draining_.load(std::memory_order_seq_cst)) return true;
  in_flight_.fetch_sub(1, std::memory_order_seq_cst);
  turned_away_.fetch_add(1, std::memory_order_relaxed);
  last_arrival_nanos_.store(absl::ToUnixNanos(absl::Now()),
                            std::memory_order_relaxed);
  MutexLock lock(&mu_);
  changed_.SignalAll();
  return false;
}

void CallDrain::Exit() {
  if (in_flight_.fetch_sub(1, std::memory_order_seq_cst) == 1 &&
      draining_.load(std::memory_order_seq_cst)) {
    MutexLock lock(&mu_);
    changed_.SignalAll();
  }
}

CallDrain::Result CallDrain::Drain(absl::Duration quiet, absl::Time deadline) {
  draining_.store(true, std::memory_order_seq_cst);
  const absl::Time started = absl::Now();
  MutexLock lock(&mu_);
  for (;;) {
    const absl::Time now = absl::Now();
    const absl::Time last_arrival = std::max(
        started, absl::FromUnixNanos(
                     last_arrival_nanos_.load(std::memory_order_relaxed)));
    const int64_t in_flight = in_flight_.load(std::memory_order_seq_cst);
    Result result;
    result.in_flight = in_flight;
    result.turned_away = turned_away_.load(std::memory_order_relaxed);
    if (in_flight == 0 && now - last_arrival >= quiet) {
      result.drained = true;
      return result;
    }
    if (now >= deadline) return result;
    // Woken by a finished or turned-away call, else when the quiet moment
    // would be over.
    const absl::Time wake =
        std::min(deadline, in_flight == 0 ? last_arrival + quiet : deadline);
    changed_.WaitWithTimeout(&mu_, std::max(wake - now, absl::Milliseconds(1)));
  }
}

}  // namespace persist::service
