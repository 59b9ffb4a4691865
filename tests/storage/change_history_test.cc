// Store::ReadChanges: the recent changes in revision order, as Watch reads
// them (DESIGN.md section 5). The concurrent test runs under
// ThreadSanitizer in CI (label "concurrency").
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/store.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using persist::test::v1::Other;
using testing::CapturedLog;
using ::testing::HasSubstr;
using testing::TempDir;

Item MakeItem(const std::string& name) {
  Item item;
  item.set_name(name);
  return item;
}

class ChangeHistoryTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions options;
    options.path = dir_.Path("data.wal");
    options.maps = {{"items", Item::descriptor()},
                    {"others", Other::descriptor()}};
    options.log = log_.Sink();
    options.auto_shrink.enabled = false;
    options.shards_per_map = 4;
    options.on_change = [this] { changes_seen_.fetch_add(1); };
    options.history.max_changes = kServerMaxChanges;
    return options;
  }
  std::unique_ptr<Store> Open(StoreOptions options) {
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  std::unique_ptr<Store> Open() { return Open(Options()); }

  static ChangeFilter Filter(std::string map, std::string prefix = "") {
    return {std::move(map), std::move(prefix)};
  }

  TempDir dir_;
  CapturedLog log_;
  std::atomic<int> changes_seen_{0};
};

TEST_F(ChangeHistoryTest, SetsAndDeletesInRevisionOrderFilteredByMapAndPrefix) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  Map<Other> others = *store->GetMap<Other>("others");
  const uint64_t start = store->Revision() + 1;
  ASSERT_TRUE(items.Set("a/1", MakeItem("one")).ok());
  ASSERT_TRUE(others.Set("a/1", Other()).ok());
  ASSERT_TRUE(items.Set("b/1", MakeItem("two")).ok());
  ASSERT_TRUE(items.Set("a/2", MakeItem("three")).ok());
  ASSERT_TRUE(items.Delete("a/1").ok());
  ASSERT_TRUE(items.Delete("missing").ok());  // changes nothing
  ASSERT_TRUE(
      items
          .Update("a/2",
                  [](const Item*) { return UpdateDecision<Item>::Cancel(); })
          .ok());  // changes nothing
  EXPECT_EQ(changes_seen_.load(), 5);

  absl::StatusOr<ChangeRead> read =
      store->ReadChanges(start, Filter("items", "a/"), 100);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->changes.size(), 3u);
  EXPECT_EQ(read->changes[0].revision, start);
  EXPECT_EQ(read->changes[0].map, "items");
  EXPECT_EQ(read->changes[0].key, "a/1");
  EXPECT_EQ(static_cast<const Item&>(*read->changes[0].value).name(), "one");
  EXPECT_EQ(read->changes[1].revision, start + 3);
  EXPECT_EQ(read->changes[1].key, "a/2");
  EXPECT_EQ(read->changes[2].revision, start + 4);
  EXPECT_EQ(read->changes[2].key, "a/1");
  EXPECT_TRUE(read->changes[2].value == nullptr) << "a delete";
  EXPECT_EQ(read->next, store->Revision() + 1);

  // Where to go on: at most `max_changes`, and `next` after the last.
  read = store->ReadChanges(start, Filter("items"), 2);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->changes.size(), 2u);
  EXPECT_EQ(read->changes[1].key, "b/1");
  EXPECT_EQ(read->next, start + 3);

  // Nothing new yet: empty, and `next` stays.
  read = store->ReadChanges(store->Revision() + 1, Filter("items"), 100);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->changes.empty());
  EXPECT_EQ(read->next, store->Revision() + 1);
}

TEST_F(ChangeHistoryTest, WithoutAHistoryReadingChangesIsRefused) {
  StoreOptions options = Options();
  options.history.max_changes = 0;
  auto store = Open(options);
  ASSERT_TRUE(store->GetMap<Item>("items")->Set("a", MakeItem("a")).ok());
  EXPECT_EQ(changes_seen_.load(), 1) << "the listener runs all the same";
  absl::StatusOr<ChangeRead> read =
      store->ReadChanges(store->Revision(), Filter("items"), 100);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(read.status().message(), HasSubstr("history"));
}

TEST_F(ChangeHistoryTest, TheStateAtOpenIsNoChange) {
  {
    auto store = Open();
    ASSERT_TRUE(store->GetMap<Item>("items")->Set("a", MakeItem("a")).ok());
  }
  auto store = Open();
  for (uint64_t from : {0, 1}) {
    absl::StatusOr<ChangeRead> read =
        store->ReadChanges(from, Filter("items"), 100);
    EXPECT_EQ(read.status().code(), absl::StatusCode::kOutOfRange) << from;
    EXPECT_THAT(read.status().message(), HasSubstr("list again"));
  }
  absl::StatusOr<ChangeRead> read = store->ReadChanges(2, Filter("items"), 100);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->changes.empty()) << "recovery records no changes";
}

TEST_F(ChangeHistoryTest, OldChangesGoOnceTheBoundsArePassed) {
  StoreOptions options = Options();
  options.history.max_changes = 3;
  auto store = Open(options);
  Map<Item> items = *store->GetMap<Item>("items");
  const uint64_t start = store->Revision() + 1;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(items.Set(absl::StrCat("k", i), MakeItem("v")).ok());
  }
  absl::StatusOr<ChangeRead> read =
      store->ReadChanges(start + 1, Filter("items"), 100);
  EXPECT_EQ(read.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(read.status().message(),
              HasSubstr(absl::StrCat("start at revision ", start + 2)));
  read = store->ReadChanges(start + 2, Filter("items"), 100);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->changes.size(), 3u);

  // The bytes bound: one value larger than it pushes out everything before
  // it, and stays.
  options = Options();
  options.path = dir_.Path("bytes.wal");
  options.history.max_bytes = 64 << 10;
  store = Open(options);
  items = *store->GetMap<Item>("items");
  ASSERT_TRUE(items.Set("small", MakeItem("v")).ok());
  const uint64_t small = store->Revision();
  ASSERT_TRUE(items.Set("large", MakeItem(std::string(100 << 10, 'x'))).ok());
  EXPECT_EQ(store->ReadChanges(small, Filter("items"), 100).status().code(),
            absl::StatusCode::kOutOfRange);
  read = store->ReadChanges(small + 1, Filter("items"), 100);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->changes.size(), 1u);
}

// Writers of two maps at once, a reader following them from its cursor:
// it must get every change exactly once, in revision order, each with the
// value its writer wrote.
TEST_F(ChangeHistoryTest, AReaderFollowingWritersGetsEveryChangeOnceInOrder) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  constexpr int kWriters = 4;
  constexpr int kWrites = 2000;
  const uint64_t start = store->Revision() + 1;

  absl::Mutex mu;
  std::map<uint64_t, std::string> written;  // revision -> value's name
  std::atomic<int> writers_left{kWriters};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      WriteOptions memory;
      memory.durability = Durability::kMemory;
      for (int i = 0; i < kWrites; ++i) {
        const std::string name = absl::StrCat(w, "/", i);
        absl::StatusOr<WriteResult> result = items.Set(
            absl::StrCat("k", (i * 7 + w) % 50), MakeItem(name), memory);
        ASSERT_TRUE(result.ok()) << result.status();
        absl::MutexLock lock(&mu);
        written[result->revision] = name;
      }
      writers_left.fetch_sub(1);
    });
  }
  std::vector<std::pair<uint64_t, std::string>> got;
  uint64_t cursor = start;
  for (;;) {
    const bool last_round = writers_left.load() == 0;
    absl::StatusOr<ChangeRead> read =
        store->ReadChanges(cursor, Filter("items"), 100);
    ASSERT_TRUE(read.ok()) << read.status();
    for (const Change& change : read->changes) {
      got.emplace_back(change.revision,
                       static_cast<const Item&>(*change.value).name());
    }
    cursor = read->next;
    if (last_round && read->changes.empty()) break;
  }
  for (std::thread& writer : writers) writer.join();

  ASSERT_EQ(got.size(), static_cast<size_t>(kWriters * kWrites));
  for (size_t i = 0; i < got.size(); ++i) {
    ASSERT_EQ(got[i].first, start + i) << "in order, none missing";
    ASSERT_EQ(got[i].second, written[got[i].first]);
  }
}

}  // namespace
}  // namespace persist
