#include "service/watch_hub.h"

#include <chrono>
#include <utility>
#include <vector>

#include "absl/time/clock.h"

namespace persist::service {

WatchHub::WatchHub(absl::Duration tick, absl::Duration batch_window)
    : tick_(tick), batch_window_(batch_window), thread_([this] { Run(); }) {}

WatchHub::~WatchHub() {
  Shutdown(absl::UnavailableError("the server is stopping"));
}

void WatchHub::Notify() {
  // Set once per round: later changes see it set and return.
  if (pending_.load(std::memory_order_acquire) ||
      pending_.exchange(true, std::memory_order_acq_rel)) {
    return;
  }
  // Under mu_, so that the signal cannot fall between the hub's look at
  // pending_ and its wait.
  MutexLock lock(&mu_);
  wake_.Signal();
}

bool WatchHub::Add(const std::shared_ptr<Watcher>& watcher) {
  MutexLock lock(&mu_);
  if (stopping_) return false;
  watchers_.emplace(watcher.get(), watcher);
  return true;
}

void WatchHub::Remove(const Watcher* watcher) {
  std::shared_ptr<Watcher> removed;  // released after the lock
  MutexLock lock(&mu_);
  auto it = watchers_.find(watcher);
  if (it == watchers_.end()) return;
  removed = std::move(it->second);
  watchers_.erase(it);
}

void WatchHub::Shutdown(const absl::Status& status) {
  std::vector<std::shared_ptr<Watcher>> ending;
  {
    MutexLock lock(&mu_);
    if (stopping_) return;
    stopping_ = true;
    wake_.Signal();
    ending.reserve(watchers_.size());
    for (auto& [key, watcher] : watchers_) ending.push_back(watcher);
    watchers_.clear();  // their Remove finds nothing
  }
  thread_.join();
  for (const std::shared_ptr<Watcher>& watcher : ending) watcher->End(status);
}

size_t WatchHub::size() const {
  MutexLock lock(&mu_);
  return watchers_.size();
}

void WatchHub::Run() {
  std::vector<std::shared_ptr<Watcher>> round;
  // Steady, not wall time: a clock stepped back must not stall rounds.
  using Steady = std::chrono::steady_clock;
  Steady::time_point last_round = Steady::time_point::min();
  for (;;) {
    {
      MutexLock lock(&mu_);
      const absl::Time deadline = absl::Now() + tick_;
      while (!stopping_ && !pending_.load(std::memory_order_acquire)) {
        const absl::Duration left = deadline - absl::Now();
        if (left <= absl::ZeroDuration()) break;
        wake_.WaitWithTimeout(&mu_, left);
      }
      // A change soon after the last round waits for more to join it.
      if (last_round != Steady::time_point::min()) {
        const Steady::time_point batched =
            last_round + absl::ToChronoNanoseconds(batch_window_);
        for (Steady::time_point now = Steady::now();
             !stopping_ && now < batched; now = Steady::now()) {
          wake_.WaitWithTimeout(&mu_, absl::FromChrono(batched - now));
        }
      }
      if (stopping_) return;
      // Cleared before the round: a change from now on asks for another.
      pending_.store(false, std::memory_order_release);
      round.clear();
      round.reserve(watchers_.size());
      for (auto& [key, watcher] : watchers_) round.push_back(watcher);
    }
    const absl::Time now = absl::Now();
    last_round = Steady::now();
    for (const std::shared_ptr<Watcher>& watcher : round) watcher->OnWake(now);
    round.clear();  // a watcher that was removed goes here, not under mu_
  }
}

}  // namespace persist::service
