// CallDrain under many threads (ThreadSanitizer in CI): once Drain says it
// drained, no call runs and none is admitted; calls admitted before it all
// finished first.
#include "service/call_drain.h"

#include <atomic>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "base/mutex.h"
#include "gtest/gtest.h"

namespace persist::service {
namespace {

TEST(CallDrainTest, DrainWaitsForAdmittedCallsAndTurnsAwayTheRest) {
  CallDrain drain;
  std::atomic<int> running{0};
  std::atomic<bool> drained{false};
  std::atomic<int> admitted_after_drain{0};
  std::atomic<int> turned_away{0};
  Notification start;
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      start.WaitForNotification();
      for (int i = 0; i < 20000; ++i) {
        if (!drain.Enter()) {
          ++turned_away;
          continue;
        }
        if (drained.load()) ++admitted_after_drain;
        ++running;
        --running;
        drain.Exit();
      }
    });
  }
  start.Notify();
  // Quiet 0: done as soon as nothing runs.
  const CallDrain::Result result =
      drain.Drain(absl::ZeroDuration(), absl::Now() + absl::Seconds(60));
  drained = true;
  EXPECT_TRUE(result.drained);
  EXPECT_EQ(result.in_flight, 0);
  EXPECT_EQ(running.load(), 0);
  for (std::thread& caller : callers) caller.join();
  EXPECT_EQ(admitted_after_drain.load(), 0);
  EXPECT_FALSE(drain.Enter());
  EXPECT_GE(turned_away.load(), 1);
}

TEST(CallDrainTest, ACallInFlightHoldsTheDrainUntilItsDeadline) {
  CallDrain drain;
  ASSERT_TRUE(drain.Enter());
  const CallDrain::Result result =
      drain.Drain(absl::ZeroDuration(), absl::Now() + absl::Milliseconds(50));
  EXPECT_FALSE(result.drained);
  EXPECT_EQ(result.in_flight, 1);
  drain.Exit();
  EXPECT_TRUE(drain.Drain(absl::ZeroDuration(), absl::Now() + absl::Seconds(60))
                  .drained);
}

}  // namespace
}  // namespace persist::service
