// WatchHub: no wake-up is lost, watchers may leave during a round, and
// shutdown ends each watcher once. No gRPC here: runs under ThreadSanitizer
// in CI (label "concurrency").
#include "service/watch_hub.h"

#include <atomic>
#include <memory>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "base/mutex.h"
#include "gtest/gtest.h"

namespace persist::service {
namespace {

// Records the newest change number it saw at a wake, and its ends.
class CountingWatcher : public WatchHub::Watcher {
 public:
  explicit CountingWatcher(const std::atomic<int>* changes)
      : changes_(changes) {}

  void OnWake(absl::Time) override {
    const int seen = changes_->load();
    MutexLock lock(&mu_);
    seen_ = seen;
    ++wakes_;
    woke_.SignalAll();
  }
  void End(const absl::Status& status) override {
    MutexLock lock(&mu_);
    ++ends_;
    end_status_ = status;
  }

  // True once a wake saw change `n`, false if none did by `deadline`.
  bool AwaitSeen(int n, absl::Time deadline) {
    MutexLock lock(&mu_);
    while (seen_ < n) {
      if (woke_.WaitWithTimeout(&mu_, deadline - absl::Now()) &&
          absl::Now() >= deadline) {
        return seen_ >= n;
      }
    }
    return true;
  }
  int wakes() {
    MutexLock lock(&mu_);
    return wakes_;
  }
  int ends() {
    MutexLock lock(&mu_);
    return ends_;
  }
  absl::Status end_status() {
    MutexLock lock(&mu_);
    return end_status_;
  }

 private:
  const std::atomic<int>* changes_;
  Mutex mu_;
  CondVar woke_;
  int seen_ ABSL_GUARDED_BY(mu_) = 0;
  int wakes_ ABSL_GUARDED_BY(mu_) = 0;
  int ends_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status end_status_ ABSL_GUARDED_BY(mu_);
};

TEST(WatchHubTest, EveryNotifyIsFollowedByAWakeThatSeesIt) {
  // A tick far longer than the test: only Notify can wake the watcher.
  WatchHub hub(absl::Hours(1));
  std::atomic<int> changes{0};
  auto watcher = std::make_shared<CountingWatcher>(&changes);
  ASSERT_TRUE(hub.Add(watcher));
  std::vector<std::thread> writers;
  constexpr int kWriters = 3;
  constexpr int kChanges = 2000;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&] {
      for (int i = 0; i < kChanges; ++i) {
        changes.fetch_add(1);
        hub.Notify();
      }
    });
  }
  for (std::thread& writer : writers) writer.join();
  EXPECT_TRUE(
      watcher->AwaitSeen(kWriters * kChanges, absl::Now() + absl::Seconds(30)));
}

TEST(WatchHubTest, TicksWakeWatchersWithoutChanges) {
  WatchHub hub(absl::Milliseconds(1));
  std::atomic<int> changes{0};
  auto watcher = std::make_shared<CountingWatcher>(&changes);
  ASSERT_TRUE(hub.Add(watcher));
  changes.store(1);  // no Notify: only a tick can show it
  EXPECT_TRUE(watcher->AwaitSeen(1, absl::Now() + absl::Seconds(30)));
}

// Removes itself from the hub when woken, as a finished stream does.
class LeavingWatcher : public WatchHub::Watcher {
 public:
  explicit LeavingWatcher(WatchHub* hub) : hub_(hub) {}
  void OnWake(absl::Time) override {
    hub_->Remove(this);
    left_.Notify();
  }
  void End(const absl::Status&) override {}
  Notification left_;

 private:
  WatchHub* hub_;
};

TEST(WatchHubTest, AWatcherMayLeaveDuringARoundAndShutdownEndsEachOnce) {
  WatchHub hub(absl::Hours(1));
  auto leaving = std::make_shared<LeavingWatcher>(&hub);
  std::atomic<int> changes{0};
  auto staying = std::make_shared<CountingWatcher>(&changes);
  ASSERT_TRUE(hub.Add(leaving));
  ASSERT_TRUE(hub.Add(staying));
  EXPECT_EQ(hub.size(), 2u);
  hub.Notify();
  leaving->left_.WaitForNotification();
  EXPECT_EQ(hub.size(), 1u);

  hub.Shutdown(absl::UnavailableError("stopping"));
  hub.Shutdown(absl::UnavailableError("again"));
  EXPECT_EQ(staying->ends(), 1);
  EXPECT_EQ(staying->end_status().message(), "stopping");
  EXPECT_EQ(hub.size(), 0u);
  EXPECT_FALSE(hub.Add(std::make_shared<CountingWatcher>(&changes)));
  hub.Notify();  // harmless once stopped
}

}  // namespace
}  // namespace persist::service
