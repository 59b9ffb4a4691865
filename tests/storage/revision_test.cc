// Revisions and the change history (DESIGN.md section 5): what the store's
// writes, reads and reopenings make of revisions, and Store::ReadChanges,
// the recent changes in revision order as Watch reads them. The concurrent
// tests run under ThreadSanitizer in CI (label "concurrency").
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/internal/change_history.h"
#include "storage/internal/revision_clock.h"
#include "storage/listing_at_revision.h"
#include "storage/store.h"
#include "tests/proto/make_item.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using persist::test::v1::Other;
using testing::CapturedLog;
using ::testing::HasSubstr;
using testing::TempDir;

using persist::testing::MakeItem;

TEST(RevisionClockTest, StartsAtTheRevisionOfWhatWasRecovered) {
  RevisionClock clock(7);
  EXPECT_EQ(clock.current(), RevisionClock::kRecovered);
  EXPECT_EQ(clock.Next(), RevisionClock::kRecovered + 1);
  EXPECT_EQ(clock.current(), RevisionClock::kRecovered + 1);
  EXPECT_EQ(clock.MakeEtag(5), (Etag{7, 5}));
}

// A change dropped past the history's bounds is freed with the Dropped its
// writer holds, not under the history's lock: the writer frees it once it
// has unlocked its shards.
TEST(ChangeHistoryTest, ADroppedChangeIsFreedWithItsDroppedNotBefore) {
  HistoryOptions options;
  options.max_changes = 1;
  ChangeHistory history(7, options, nullptr);
  const std::string map = "items";
  auto value = std::make_shared<const Item>(MakeItem("first", 1));
  const std::weak_ptr<const Item> first = value;
  {
    ChangeHistory::Dropped dropped;
    history.Record(dropped, map, "a", value, 10);
    value.reset();
    EXPECT_FALSE(first.expired()) << "the history keeps the change";
    history.Record(dropped, map, "b", nullptr, 10);
    EXPECT_FALSE(first.expired()) << "dropped, but its Dropped holds it";
  }
  EXPECT_TRUE(first.expired());

  // A batch's drops go the same way.
  value = std::make_shared<const Item>(MakeItem("second", 2));
  const std::weak_ptr<const Item> second = value;
  {
    ChangeHistory::Dropped dropped;
    history.Record(dropped, map, "c", value, 10);
    value.reset();
    history.RecordBatch({{&map, "d", nullptr, 10}, {&map, "e", nullptr, 10}},
                        dropped);
    EXPECT_FALSE(second.expired());
  }
  EXPECT_TRUE(second.expired());
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

// Batches over overlapping keys of two maps, with single writes of the same
// keys: no deadlock, every revision taken once, and each batch's changes
// contiguous and marked with the batch's end, across a reopen.
TEST_F(StoreRevisionTest, ConcurrentBatchesTakeContiguousRevisions) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  DynamicMap* maps[] = {&items.dynamic(),
                        &(*store->GetMap<Other>("others")).dynamic()};
  constexpr int kWriters = 4;
  constexpr int kBatches = 300;
  std::vector<std::vector<BatchResult>> done(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kBatches; ++i) {
        if (w == 0 && i % 2 == 0) {  // a single write among the batches
          ASSERT_TRUE(
              items.Set(absl::StrCat("k", i % 8), MakeItem("one")).ok());
          continue;
        }
        std::vector<BatchOperation> operations;
        for (int k = 0; k < 3; ++k) {
          const std::string key = absl::StrCat("k", (i + w + k * 3) % 8);
          DynamicMap* map = maps[(i + k) % 2];
          if ((i + k) % 5 == 4) {
            operations.push_back(BatchOperation::Delete(map, key));
            continue;
          }
          std::shared_ptr<google::protobuf::Message> value = map->NewValue();
          value->GetReflection()->SetString(value.get(),
                                            value->GetDescriptor()->field(0),
                                            absl::StrCat(w, "/", i));
          operations.push_back(BatchOperation::Set(map, key, value));
        }
        absl::StatusOr<BatchResult> result =
            store->Write(std::move(operations));
        ASSERT_TRUE(result.ok()) << result.status();
        done[w].push_back(*std::move(result));
      }
    });
  }
  for (std::thread& writer : writers) writer.join();

  // Every change, in one read per map (the history keeps them all).
  std::vector<Change> changes;
  for (const char* map : {"items", "others"}) {
    absl::StatusOr<ChangeRead> read =
        store->ReadChanges(RevisionClock::kRecovered + 1, Filter(map), 100000);
    ASSERT_TRUE(read.ok()) << read.status();
    changes.insert(changes.end(), read->changes.begin(), read->changes.end());
  }
  std::sort(
      changes.begin(), changes.end(),
      [](const Change& a, const Change& b) { return a.revision < b.revision; });
  for (size_t i = 0; i < changes.size(); ++i) {
    ASSERT_EQ(changes[i].revision, RevisionClock::kRecovered + 1 + i);
    ASSERT_GE(changes[i].batch_end, changes[i].revision);
    // Within a batch, every change names the same end.
    if (changes[i].batch_end > changes[i].revision) {
      ASSERT_LT(i + 1, changes.size());
      EXPECT_EQ(changes[i + 1].batch_end, changes[i].batch_end);
    }
  }
  EXPECT_EQ(store->Revision(), RevisionClock::kRecovered + changes.size());
  for (const std::vector<BatchResult>& own : done) {
    for (const BatchResult& batch : own) {
      uint64_t first = batch.revision + 1;
      for (const UpdateResult& result : batch.results) {
        if (result.existed || result.outcome == UpdateResult::Outcome::kSet) {
          first = std::min(first, result.revision);
        }
      }
      // The batch's changes are exactly the revisions first..revision.
      for (uint64_t r = first; r <= batch.revision; ++r) {
        EXPECT_EQ(changes[r - RevisionClock::kRecovered - 1].batch_end,
                  batch.revision);
      }
    }
  }

  // What a reopen brings back is what the maps held.
  auto state_of = [](const std::vector<DynamicMap*>& of) {
    std::map<std::string, std::string> state;
    for (DynamicMap* map : of) {
      EXPECT_TRUE(
          map->Range([&](absl::string_view key,
                         const Entry<google::protobuf::Message>& entry) {
               state[absl::StrCat(map->name(), ":", key)] =
                   entry.value->ShortDebugString();
               return true;
             })
              .ok());
    }
    return state;
  };
  const std::map<std::string, std::string> before = state_of(store->Maps());
  store.reset();
  store = Open();
  const std::map<std::string, std::string> after = state_of(store->Maps());
  EXPECT_EQ(after, before);
}

TEST_F(StoreRevisionTest, SetsAndDeletesInRevisionOrderFilteredByMapAndPrefix) {
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

TEST_F(StoreRevisionTest, WithoutAHistoryReadingChangesIsRefused) {
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

TEST_F(StoreRevisionTest, TheStateAtOpenIsNoChange) {
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

TEST_F(StoreRevisionTest, OldChangesGoOnceTheBoundsArePassed) {
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
TEST_F(StoreRevisionTest, AReaderFollowingWritersGetsEveryChangeOnceInOrder) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  constexpr int kWriters = 4;
  constexpr int kWrites = 2000;
  const uint64_t start = store->Revision() + 1;

  // std::mutex, not absl::Mutex: ThreadSanitizer sees pthread locks, not
  // those of Debian's uninstrumented abseil.
  std::mutex mu;
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
        std::lock_guard<std::mutex> lock(mu);
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

// Watch's initial listing: writers set and delete keys while the listing
// runs; the listing plus the changes after its revision must give the map's
// final state, and its entries must be the state at its revision exactly.
TEST_F(StoreRevisionTest, AListingAtARevisionPlusTheChangesAfterItIsTheEnd) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  constexpr int kKeys = 200;
  for (int k = 0; k < kKeys; ++k) {
    ASSERT_TRUE(items.Set(absl::StrCat("k", k), MakeItem("0")).ok());
  }
  // Fewer changes in all than the history keeps: every listing's changes
  // after it can be read back.
  constexpr int kWrites = 3000;
  std::atomic<int> writing{2};
  std::vector<std::thread> writers;
  for (int w = 0; w < 2; ++w) {
    writers.emplace_back([&, w] {
      WriteOptions memory;
      memory.durability = Durability::kMemory;
      for (int i = 1; i <= kWrites; ++i) {
        const std::string key = absl::StrCat("k", (i * 13 + w) % kKeys);
        if (i % 5 == 0) {
          ASSERT_TRUE(items.Delete(key, memory).ok());
        } else {
          ASSERT_TRUE(
              items.Set(key, MakeItem(absl::StrCat(w, "/", i)), memory).ok());
        }
      }
      writing.fetch_sub(1);
    });
  }
  std::vector<ListingAtRevision> listings;
  do {  // listings while the writers write
    absl::StatusOr<ListingAtRevision> listing =
        ListAtRevision(*store, items.dynamic(), "k");
    ASSERT_TRUE(listing.ok()) << listing.status();
    listings.push_back(*std::move(listing));
  } while (writing.load() > 0);
  for (std::thread& writer : writers) writer.join();

  std::map<std::string, std::string> end;
  ASSERT_TRUE(items
                  .Range([&](absl::string_view key, const Entry<Item>& entry) {
                    end[std::string(key)] = entry.value->name();
                    return true;
                  })
                  .ok());
  for (const ListingAtRevision& listing : listings) {
    std::map<std::string, std::string> state;
    for (const ListedEntry& listed : listing.entries) {
      ASSERT_LE(listed.entry.etag.revision, listing.revision) << listed.key;
      state[listed.key] = static_cast<const Item&>(*listed.entry.value).name();
    }
    for (uint64_t from = listing.revision + 1; from <= store->Revision();) {
      absl::StatusOr<ChangeRead> read =
          store->ReadChanges(from, Filter("items", "k"), 1000);
      ASSERT_TRUE(read.ok()) << read.status();
      for (const Change& change : read->changes) {
        if (change.value == nullptr) {
          state.erase(change.key);
        } else {
          state[change.key] = static_cast<const Item&>(*change.value).name();
        }
      }
      from = read->next;
    }
    EXPECT_EQ(state, end) << "listing at revision " << listing.revision;
  }
}

TEST_F(StoreRevisionTest, AListingWhileNothingChangesNeedsNoHistory) {
  StoreOptions options = Options();
  options.history.max_changes = 0;
  auto store = Open(options);
  Map<Item> items = *store->GetMap<Item>("items");
  ASSERT_TRUE(items.Set("a", MakeItem("a")).ok());
  absl::StatusOr<ListingAtRevision> listing =
      ListAtRevision(*store, items.dynamic(), "");
  ASSERT_TRUE(listing.ok()) << listing.status();
  EXPECT_EQ(listing->revision, store->Revision());
  ASSERT_EQ(listing->entries.size(), 1u);
  EXPECT_EQ(listing->entries[0].key, "a");
}

}  // namespace
}  // namespace persist
