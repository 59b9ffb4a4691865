// WatchHub: wakes persistd's Watch streams when the store changes, and at
// least every `tick` (for their progress notices).
//
// The store's on_change listener calls Notify() after every change, on the
// writer's thread with the key's shard locked: it costs an atomic load when
// a wake-up is pending already, and else one uncontended lock. The hub's
// own thread then wakes every watcher, so that writers never wait for
// watchers; each watcher reads the changes from the store's history itself,
// at its own pace (watch_stream.h). Changes made while the hub is waking
// watchers coalesce into one more round, and so do changes that come
// within `batch_window` of the last round: under load a round (so a
// message of each stream) carries many changes rather than one, at the
// cost of up to batch_window of latency; a change after a quiet spell
// wakes the watchers at once. (The window counts from a round's start, so
// rounds longer than it are not held back at all.)
//
// Thread-safety: all methods may be called from any thread. Watchers are
// called on the hub's thread, with no lock of the hub held, so they may
// Remove themselves. Lock order: a shard, then mu_.
#ifndef PERSIST_SERVICE_WATCH_HUB_H_
#define PERSIST_SERVICE_WATCH_HUB_H_

#include <atomic>
#include <cstddef>
#include <memory>
#include <thread>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "base/mutex.h"

namespace persist::service {

class WatchHub {
 public:
  class Watcher {
   public:
    virtual ~Watcher() = default;
    // The store may have changed, or `tick` passed.
    virtual void OnWake(absl::Time now) = 0;
    // The hub is shutting down: end the stream with `status`.
    virtual void End(const absl::Status& status) = 0;
  };

  explicit WatchHub(absl::Duration tick,
                    absl::Duration batch_window = absl::ZeroDuration());
  // Shutdown(), if not done yet.
  ~WatchHub();
  WatchHub(const WatchHub&) = delete;
  WatchHub& operator=(const WatchHub&) = delete;

  // The store changed. Quick, and takes no lock when a wake-up is pending.
  void Notify();

  // Wakes `watcher` from now on, until Remove. False after Shutdown (the
  // caller ends its stream itself).
  bool Add(const std::shared_ptr<Watcher>& watcher);
  void Remove(const Watcher* watcher);

  // Refuses new watchers, ends every watcher with `status` (and forgets
  // it: size() is 0 from then on), and stops the thread. Idempotent.
  void Shutdown(const absl::Status& status);

  size_t size() const;

 private:
  void Run();

  const absl::Duration tick_;
  const absl::Duration batch_window_;
  std::atomic<bool> pending_{false};

  mutable Mutex mu_;
  CondVar wake_;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  absl::flat_hash_map<const Watcher*, std::shared_ptr<Watcher>> watchers_
      ABSL_GUARDED_BY(mu_);
  std::thread thread_;  // last: it uses the members above
};

}  // namespace persist::service

#endif  // PERSIST_SERVICE_WATCH_HUB_H_
