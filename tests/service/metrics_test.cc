// The Prometheus page's pieces: the text format, and the engine's figures
// from a real store (on the fault-injecting file layer, to stop its writes).
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "service/prometheus_text.h"
#include "service/store_metrics.h"
#include "storage/store.h"
#include "tests/storage/fault_injection_file_system.h"
#include "tests/storage/test_files.h"

namespace persist::service {
namespace {

using persist::test::v1::Item;
using testing::FaultInjectionFileSystem;
using ::testing::HasSubstr;
using ::testing::Not;

TEST(PrometheusTextTest, WritesFamiliesSamplesAndEscapedLabels) {
  PrometheusText page;
  page.Family("x_total", "counter", "Things.\nWith \\ in help.");
  page.Sample("x_total", {}, 3);
  page.Sample("x_total", {{"a", "q\"uo\\te\nd"}, {"b", "2"}}, 0.25);
  EXPECT_EQ(page.text(),
            "# HELP x_total Things.\\nWith \\\\ in help.\n"
            "# TYPE x_total counter\n"
            "x_total 3\n"
            "x_total{a=\"q\\\"uo\\\\te\\nd\",b=\"2\"} 0.25\n");
}

TEST(PrometheusTextTest, WritesHistogramsCumulativeWithInfSumAndCount) {
  Histogram histogram({0.001, 0.5});
  histogram.Observe(0.0005);
  histogram.Observe(0.25);
  histogram.Observe(7);
  PrometheusText page;
  page.Histogram("h_seconds", {{"m", "Get"}}, histogram.Snapshot());
  EXPECT_EQ(page.text(),
            "h_seconds_bucket{m=\"Get\",le=\"0.001\"} 1\n"
            "h_seconds_bucket{m=\"Get\",le=\"0.5\"} 2\n"
            "h_seconds_bucket{m=\"Get\",le=\"+Inf\"} 3\n"
            "h_seconds_sum{m=\"Get\"} 7.2505\n"
            "h_seconds_count{m=\"Get\"} 3\n");
  PrometheusText unlabelled;
  unlabelled.Histogram("h", {}, Histogram({1}).Snapshot());
  EXPECT_EQ(unlabelled.text(),
            "h_bucket{le=\"1\"} 0\nh_bucket{le=\"+Inf\"} 0\nh_sum 0\n"
            "h_count 0\n");
}

TEST(StoreMetricsTest, WhileLoadingOnlyTheLoadedGaugeIsWritten) {
  PrometheusText page;
  AppendStoreMetrics(nullptr, &page);
  EXPECT_THAT(page.text(), HasSubstr("\npersist_store_loaded 0\n"));
  EXPECT_THAT(page.text(), Not(HasSubstr("persist_store_writable")));
}

TEST(StoreMetricsTest, AFailedFsyncShowsAsNotWritable) {
  testing::TempDir dir;
  FaultInjectionFileSystem fs;
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(
      testing::QuietStoreOptions(dir, {{"items", Item::descriptor()}}, &fs));
  ASSERT_TRUE(store.ok()) << store.status();
  Map<Item> items = *(*store)->GetMap<Item>("items");
  WriteOptions fsync;
  fsync.durability = Durability::kFsync;
  ASSERT_TRUE(items.Set("a", Item(), fsync).ok());

  PrometheusText healthy;
  AppendStoreMetrics(store->get(), &healthy);
  EXPECT_THAT(healthy.text(), HasSubstr("\npersist_store_loaded 1\n"));
  EXPECT_THAT(healthy.text(), HasSubstr("\npersist_store_writable 1\n"));
  EXPECT_THAT(healthy.text(),
              HasSubstr("\npersist_writes_total{durability=\"FSYNC\"} 1\n"));
  EXPECT_THAT(healthy.text(),
              HasSubstr("\npersist_wal_fsync_duration_seconds_count 1\n"));
  EXPECT_THAT(healthy.text(),
              HasSubstr("\npersist_map_live_keys{map=\"items\",type=\"persist."
                        "test.v1.Item\"} 1\n"));

  fs.FailAfter(FaultInjectionFileSystem::Op::kSync, 0,
               absl::DataLossError("injected fsync failure"));
  ASSERT_FALSE(items.Set("b", Item(), fsync).ok());
  PrometheusText failed;
  AppendStoreMetrics(store->get(), &failed);
  EXPECT_THAT(failed.text(), HasSubstr("\npersist_store_writable 0\n"));
  EXPECT_THAT(failed.text(),
              HasSubstr("\npersist_wal_fsync_duration_seconds_count 2\n"));
}

}  // namespace
}  // namespace persist::service
