// Revisions (DESIGN.md section 5): what the store's writes, reads and
// reopenings make of them. The concurrent test runs under ThreadSanitizer
// in CI (label "concurrency").
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/internal/revision_clock.h"
#include "storage/store.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using persist::test::v1::Other;
using testing::CapturedLog;
using testing::TempDir;

Item MakeItem(const std::string& name) {
  Item item;
  item.set_name(name);
  return item;
}

TEST(RevisionClockTest, StartsAtTheRevisionOfWhatWasRecovered) {
  RevisionClock clock(7);
  EXPECT_EQ(clock.current(), RevisionClock::kRecovered);
  EXPECT_EQ(clock.Next(), RevisionClock::kRecovered + 1);
  EXPECT_EQ(clock.current(), RevisionClock::kRecovered + 1);
  EXPECT_EQ(clock.MakeEtag(5), (Etag{7, 5}));
}

class StoreRevisionTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions options;
    options.path = dir_.Path("data.wal");
    options.maps = {{"items", Item::descriptor()},
                    {"others", Other::descriptor()}};
    options.log = log_.Sink();
    options.auto_shrink.enabled = false;
    options.shards_per_map = 4;
    return options;
  }
  std::unique_ptr<Store> Open() {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(Options());
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  TempDir dir_;
  CapturedLog log_;
};

TEST_F(StoreRevisionTest, EveryChangeTakesTheNextRevisionAcrossMaps) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  Map<Other> others = *store->GetMap<Other>("others");
  const uint64_t start = store->Revision();
  EXPECT_EQ(start, RevisionClock::kRecovered);

  absl::StatusOr<WriteResult> a = items.Set("a", MakeItem("one"));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->revision, start + 1);
  EXPECT_EQ(a->etag.revision, a->revision) << "the etag names the revision";

  Other text;
  text.set_text("x");
  absl::StatusOr<WriteResult> b = others.Set("b", text);
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(b->revision, start + 2);

  absl::StatusOr<UpdateResult> updated = items.Update("a", [](const Item*) {
    return UpdateDecision<Item>::Set(std::make_shared<Item>(MakeItem("two")));
  });
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_EQ(updated->revision, start + 3);
  EXPECT_EQ(updated->etag.revision, start + 3);

  absl::StatusOr<WriteResult> deleted = others.Delete("b");
  ASSERT_TRUE(deleted.ok()) << deleted.status();
  EXPECT_TRUE(deleted->existed);
  EXPECT_EQ(deleted->revision, start + 4) << "a delete is a change too";

  EXPECT_EQ(store->Revision(), start + 4);
  EXPECT_EQ(store->Stats().revision, start + 4);
  EXPECT_EQ(store->Stats().epoch, store->Epoch());
  EXPECT_EQ(items.Get("a")->etag, (Etag{store->Epoch(), start + 3}));
}

TEST_F(StoreRevisionTest, WritesThatChangeNothingTakeNoRevision) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  ASSERT_TRUE(items.Set("a", MakeItem("one")).ok());
  const uint64_t before = store->Revision();

  absl::StatusOr<WriteResult> missing = items.Delete("nobody");
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_FALSE(missing->existed);
  EXPECT_EQ(missing->revision, before) << "answers the store's revision";

  absl::StatusOr<UpdateResult> cancelled = items.Update(
      "a", [](const Item*) { return UpdateDecision<Item>::Cancel(); });
  ASSERT_TRUE(cancelled.ok()) << cancelled.status();
  EXPECT_EQ(cancelled->revision, before);

  WriteOptions must_not_exist;
  must_not_exist.precondition = Precondition::MustNotExist();
  EXPECT_FALSE(items.Set("a", MakeItem("two"), must_not_exist).ok());

  EXPECT_EQ(store->Revision(), before);
  absl::StatusOr<WriteResult> next = items.Set("b", MakeItem("three"));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->revision, before + 1) << "no revision was skipped";
}

TEST_F(StoreRevisionTest, AReopenedStoreStartsANewEpochAtTheRecoveredRevision) {
  uint64_t first_epoch = 0;
  {
    auto store = Open();
    first_epoch = store->Epoch();
    Map<Item> items = *store->GetMap<Item>("items");
    for (int i = 0; i < 5; ++i) {
      ASSERT_TRUE(items.Set("a", MakeItem(absl::StrCat("v", i))).ok());
    }
    ASSERT_TRUE(items.Set("b", MakeItem("b")).ok());
    EXPECT_EQ(store->Revision(), RevisionClock::kRecovered + 6);
  }
  auto store = Open();
  EXPECT_NE(store->Epoch(), first_epoch);
  EXPECT_EQ(store->Revision(), RevisionClock::kRecovered);
  Map<Item> items = *store->GetMap<Item>("items");
  EXPECT_EQ(items.Get("a")->etag,
            (Etag{store->Epoch(), RevisionClock::kRecovered}));
  EXPECT_EQ(items.Get("a")->value->name(), "v4");
  EXPECT_EQ(items.Get("b")->etag.revision, RevisionClock::kRecovered);
  absl::StatusOr<WriteResult> next = items.Set("b", MakeItem("c"));
  ASSERT_TRUE(next.ok()) << next.status();
  EXPECT_EQ(next->revision, RevisionClock::kRecovered + 1);
}

// Writers of two maps at once: every revision goes to exactly one change,
// none is skipped, and each writer sees its own revisions grow.
TEST_F(StoreRevisionTest, ConcurrentWritersTakeEveryRevisionOnce) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  Map<Other> others = *store->GetMap<Other>("others");
  constexpr int kWriters = 4;
  constexpr int kWrites = 3000;

  std::vector<std::vector<uint64_t>> taken(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      WriteOptions memory;
      memory.durability = Durability::kMemory;
      for (int i = 0; i < kWrites; ++i) {
        const std::string key = absl::StrCat("k", (i * 7 + w) % 50);
        absl::StatusOr<WriteResult> result;
        if (i % 3 == 2) {
          result = items.Delete(key, memory);
          if (result.ok() && !result->existed) continue;  // took none
        } else if (i % 2 == 0) {
          result = items.Set(key, MakeItem(key), memory);
        } else {
          Other other;
          other.set_text(key);
          result = others.Set(key, other, memory);
        }
        ASSERT_TRUE(result.ok()) << result.status();
        taken[w].push_back(result->revision);
      }
    });
  }
  for (std::thread& writer : writers) writer.join();

  std::vector<uint64_t> all;
  for (const std::vector<uint64_t>& own : taken) {
    EXPECT_TRUE(std::is_sorted(own.begin(), own.end()));
    all.insert(all.end(), own.begin(), own.end());
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 0; i < all.size(); ++i) {
    ASSERT_EQ(all[i], RevisionClock::kRecovered + 1 + i);
  }
  EXPECT_EQ(store->Revision(), RevisionClock::kRecovered + all.size());
}

}  // namespace
}  // namespace persist
