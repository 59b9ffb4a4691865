#include "base/histogram.h"

#include <thread>
#include <vector>

#include "base/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace persist {
namespace {

using ::testing::ElementsAre;

TEST(HistogramTest, CountsEachValueInTheFirstBucketThatHoldsIt) {
  Histogram histogram({1, 2, 4});
  for (double value : {0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 4.5, 100.0}) {
    histogram.Observe(value);
  }
  const HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_THAT(snapshot.upper_bounds, ElementsAre(1, 2, 4));
  // Cumulative, "less than or equal": 1 holds 0.5 and 1.0.
  EXPECT_THAT(snapshot.cumulative, ElementsAre(2, 4, 6));
  EXPECT_EQ(snapshot.count, 8);
  EXPECT_DOUBLE_EQ(snapshot.sum, 116.5);
}

TEST(HistogramTest, ExponentialBoundsMultiply) {
  EXPECT_THAT(Histogram::ExponentialBounds(1, 2, 4), ElementsAre(1, 2, 4, 8));
  EXPECT_THAT(Histogram::ExponentialBounds(0.5, 10, 2), ElementsAre(0.5, 5));
}

TEST(HistogramTest, ConcurrentObservationsAreAllCounted) {
  Histogram histogram(Histogram::ExponentialBounds(1, 2, 8));
  constexpr int kThreads = 4;
  constexpr int kEach = 20000;
  Notification go;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      go.WaitForNotification();
      for (int i = 0; i < kEach; ++i) histogram.Observe(t + 1);
    });
  }
  go.Notify();
  // Snapshots taken meanwhile never go backwards.
  uint64_t last = 0;
  for (int i = 0; i < 100; ++i) {
    const uint64_t count = histogram.Snapshot().count;
    EXPECT_GE(count, last);
    last = count;
  }
  for (std::thread& thread : threads) thread.join();
  const HistogramSnapshot snapshot = histogram.Snapshot();
  EXPECT_EQ(snapshot.count, kThreads * kEach);
  EXPECT_DOUBLE_EQ(snapshot.sum, kEach * (1 + 2 + 3 + 4));
  EXPECT_EQ(snapshot.cumulative[0], kEach);      // the 1s
  EXPECT_EQ(snapshot.cumulative[1], 2 * kEach);  // and the 2s
  EXPECT_EQ(snapshot.cumulative[2], 4 * kEach);  // 3 and 4 are <= 4
}

}  // namespace
}  // namespace persist
