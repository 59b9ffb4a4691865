// CallDrain: how persistd stops without cutting calls short (DESIGN.md 6).
//
// Every call of persist.v1.Persist enters the drain when it starts and
// leaves it when it finishes. Drain() turns new calls away (they answer
// UNAVAILABLE, which clients retry elsewhere or later), waits for the calls
// in flight to finish, and then for a quiet moment in which no call
// arrives: gRPC's own shutdown cancels the calls that arrive while it runs
// (CANCELLED, which a client cannot tell from a call cut short), so it is
// started only once clients have stopped sending.
//
// Thread-safety: all methods may be called from any thread. Enter and Exit
// are lock-free.
#ifndef PERSIST_SERVICE_CALL_DRAIN_H_
#define PERSIST_SERVICE_CALL_DRAIN_H_

#include <atomic>
#include <cstdint>

#include "absl/time/time.h"
#include "base/mutex.h"

namespace persist::service {

class CallDrain {
 public:
  CallDrain() = default;
  CallDrain(const CallDrain&) = delete;
  CallDrain& operator=(const CallDrain&) = delete;

  // A call starts: true if it may run, false once draining (answer it
  // UNAVAILABLE). A call that ran must Exit.
  bool Enter();
  void Exit();

  struct Result {
    bool drained = false;     // false: `deadline` passed first
    int64_t in_flight = 0;    // calls still running then
    int64_t turned_away = 0;  // calls answered UNAVAILABLE meanwhile
  };
  // Turns new calls away from now on; returns once no call is in flight and
  // none arrived for `quiet`, or at `deadline`.
  Result Drain(absl::Duration quiet, absl::Time deadline);

  bool draining() const { return draining_.load(std::memory_order_seq_cst); }

 private:
  std::atomic<int64_t> in_flight_{0};
  std::atomic<bool> draining_{false};
  std::atomic<int64_t> turned_away_{0};
  // When the last call was turned away (absl::ToUnixNanos).
  std::atomic<int64_t> last_arrival_nanos_{0};
  Mutex mu_;
  CondVar changed_;  // a call finished or was turned away while draining
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_CALL_DRAIN_H_
