// The examples of the public headers' comments, compiled here as they are
// written (tests/headers/CMakeLists.txt cuts them out), and run where they
// need nothing but a folder.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "clients/cpp/cached_map.h"
#include "clients/cpp/persist_client.h"
#include "clients/cpp/watch_call.h"
#include "clients/cpp/write_batch.h"
#include "example/v1/user.pb.h"
#include "gtest/gtest.h"
#include "service/prometheus_text.h"
#include "service/rpc_metrics.h"
#include "storage/check.h"
#include "storage/map.h"
#include "storage/store.h"
#include "tests/storage/test_files.h"

namespace {

// Each runs in the current folder, where the examples put "data.wal".
void StoreExample() {
#include "storage_store_h.inc"
}

void MapExample(persist::Store& store) {
#include "storage_map_h.inc"
}

void CheckExample() {
#include "storage_check_h.inc"
}

// Compiled, not run: it needs a persistd with TLS.
[[maybe_unused]] void ClientExample() {
#include "clients_cpp_persist_client_h.inc"
}

// Compiled, not run: they need a persistd.
[[maybe_unused]] void WatchCallExample(
    const persist::client::TypedMap<example::v1::User>& users) {
#include "clients_cpp_watch_call_h.inc"
}

[[maybe_unused]] void CachedMapExample(
    const persist::client::TypedMap<example::v1::User>& users) {
#include "clients_cpp_cached_map_h.inc"
}

[[maybe_unused]] void WriteBatchExample(
    persist::client::Client& client,
    const persist::client::TypedMap<example::v1::User>& users,
    const example::v1::User& alice, const example::v1::User& patch){
#include "clients_cpp_write_batch_h.inc"
}

std::string PrometheusTextExample() {
  persist::HistogramSnapshot snapshot;
#include "service_prometheus_text_h.inc"
  return text;
}

void RpcMetricsExample() {
#include "service_rpc_metrics_h.inc"
}

class HeaderExamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(::getcwd(old_, sizeof(old_)), old_);
    ASSERT_EQ(::chdir(dir_.dir().c_str()), 0);
  }
  void TearDown() override { ASSERT_EQ(::chdir(old_), 0); }

  persist::testing::TempDir dir_;
  char old_[4096] = {};
};

TEST_F(HeaderExamplesTest, TheStoreMapAndCheckExamplesRun) {
  StoreExample();
  persist::StoreOptions options;
  options.path = "data.wal";
  auto store = persist::Store::Open(options);
  ASSERT_TRUE(store.ok()) << store.status();
  MapExample(**store);
  EXPECT_TRUE(
      (*store)->GetMap<example::v1::User>("users")->Get("alice")->found());
  store->reset();
  CheckExample();
}

TEST_F(HeaderExamplesTest, TheMetricsExamplesRun) {
  EXPECT_NE(PrometheusTextExample().find("persist_writes_total"),
            std::string::npos);
  RpcMetricsExample();
}

}  // namespace
