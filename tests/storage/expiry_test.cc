// Expiry in the engine (storage/expiry.h): entries invisible from their
// expiry on, deleted by the store with a D record and a change marked
// expired, kept across restarts by E records framed with their S, by
// Shrink and with orphans.
#include "storage/expiry.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/listing_at_revision.h"
#include "storage/store.h"
#include "tests/proto/make_item.h"
#include "tests/storage/manual_clock.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using persist::testing::MakeItem;
using testing::CapturedLog;
using ::testing::HasSubstr;
using testing::ManualClock;
using ::testing::Not;
using testing::ReadFileOrDie;
using testing::TempDir;
using testing::WriteFileOrDie;

class ExpiryTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  StoreOptions Options() {
    StoreOptions options;
    options.path = path_;
    options.maps = {{"items", Item::descriptor()}};
    options.log = log_.Sink();
    options.auto_shrink.enabled = false;
    options.history.max_changes = kServerMaxChanges;
    options.clock = &clock_;
    // The test deletes expired entries itself (DeleteExpired): the
    // background's first sweep comes an interval after open.
    options.expiry_interval = absl::Hours(1);
    return options;
  }
  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(Options());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  Map<Item> items() const { return *store_->GetMap<Item>("items"); }
  WriteOptions ExpiringIn(absl::Duration ttl) const {
    WriteOptions options;
    options.expires = clock_.Now() + ttl;
    return options;
  }
  bool Found(const std::string& key) const {
    absl::StatusOr<Entry<Item>> entry = items().Get(key);
    EXPECT_TRUE(entry.ok()) << entry.status();
    return entry.ok() && entry->found();
  }
  std::vector<std::string> Keys() const {
    std::vector<std::string> keys;
    EXPECT_TRUE(items()
                    .Range([&](absl::string_view key, const Entry<Item>&) {
                      keys.emplace_back(key);
                      return true;
                    })
                    .ok());
    return keys;
  }
  std::vector<Change> ChangesFrom(uint64_t from) const {
    absl::StatusOr<ChangeRead> read =
        store_->ReadChanges(from, {"items", ""}, 100);
    EXPECT_TRUE(read.ok()) << read.status();
    return read.ok() ? read->changes : std::vector<Change>{};
  }

  TempDir dir_;
  const std::string path_ = dir_.Path("data.wal");
  CapturedLog log_;
  ManualClock clock_;
  std::unique_ptr<Store> store_;
};

TEST_F(ExpiryTest, AnEntryIsInvisibleFromItsExpiryOnBeforeItIsDeleted) {
  const WriteOptions options = ExpiringIn(absl::Seconds(10));
  ASSERT_TRUE(items().Set("a", MakeItem("A"), options).ok());
  ASSERT_TRUE(items().Set("b", MakeItem("B")).ok());
  absl::StatusOr<Entry<Item>> entry = items().Get("a");
  ASSERT_TRUE(entry.ok() && entry->found());
  EXPECT_EQ(entry->expires, options.expires);
  EXPECT_EQ(items().Get("b")->expires, absl::InfiniteFuture());
  EXPECT_EQ(store_->Stats().expiring_keys, 1);

  clock_.Advance(absl::Seconds(9));
  EXPECT_TRUE(Found("a"));
  clock_.Advance(absl::Seconds(1));
  EXPECT_FALSE(Found("a"));
  EXPECT_THAT(Keys(), ::testing::ElementsAre("b"));
  // Not deleted yet, but a write that wants the key absent sees it so.
  absl::StatusOr<UpdateResult> updated =
      items().Update("a",
                     [](const Item* current) {
                       EXPECT_EQ(current, nullptr);
                       return UpdateDecision<Item>::Cancel();
                     },
                     {});
  ASSERT_TRUE(updated.ok()) << updated.status();
  EXPECT_FALSE(updated->existed);
}

TEST_F(ExpiryTest,
       TheStoreDeletesAnExpiredEntryWithADeleteRecordAndAnExpiredChange) {
  ASSERT_TRUE(
      items().Set("a", MakeItem("A"), ExpiringIn(absl::Seconds(5))).ok());
  ASSERT_TRUE(items().Set("b", MakeItem("B"), ExpiringIn(absl::Hours(1))).ok());
  const uint64_t before = store_->Revision();
  EXPECT_EQ(store_->DeleteExpired(), 0);
  clock_.Advance(absl::Seconds(5));
  EXPECT_EQ(store_->DeleteExpired(), 1);
  EXPECT_EQ(store_->DeleteExpired(), 0);

  const std::vector<Change> changes = ChangesFrom(before + 1);
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].key, "a");
  EXPECT_TRUE(changes[0].value == nullptr);
  EXPECT_TRUE(changes[0].expired);
  EXPECT_EQ(changes[0].revision, before + 1);
  EXPECT_EQ(store_->Revision(), before + 1);
  const StoreStats stats = store_->Stats();
  EXPECT_EQ(stats.expirations, 1u);
  EXPECT_EQ(stats.expiring_keys, 1);
  EXPECT_EQ(stats.live_keys, 1);
  ASSERT_EQ(stats.maps.size(), 1u);
  EXPECT_EQ(stats.maps[0].expirations, 1u);

  // The delete is an ASYNC write: in the file once flushed.
  ASSERT_TRUE(store_->Flush().ok());
  const std::string file = ReadFileOrDie(path_);
  EXPECT_THAT(file, HasSubstr("D items:a\n\n"));
  EXPECT_THAT(file, Not(HasSubstr("D items:b")));
}

TEST_F(ExpiryTest, AnExpiryIsWrittenInOneFrameWithItsValueAndSurvivesARestart) {
  const WriteOptions options = ExpiringIn(absl::Minutes(1));
  ASSERT_TRUE(items().Set("a", MakeItem("A"), options).ok());
  const std::string file = ReadFileOrDie(path_);
  EXPECT_THAT(file, HasSubstr(absl::StrCat(
                        "B 2\n\nS items:a\n{\"name\":\"A\"}\nE items:a\n",
                        FormatExpiry(ExpiryNanos(options.expires)), "\n")));
  // E records are no changes: not counted as WAL records.
  EXPECT_EQ(store_->Stats().wal_records, 1u);

  Reopen();
  EXPECT_EQ(store_->Stats().wal_records, 1u);
  absl::StatusOr<Entry<Item>> entry = items().Get("a");
  ASSERT_TRUE(entry.ok() && entry->found());
  EXPECT_EQ(entry->expires, options.expires);
  EXPECT_EQ(store_->Stats().expiring_keys, 1);

  clock_.Advance(absl::Minutes(2));
  Reopen();  // expired while the store was closed
  EXPECT_FALSE(Found("a"));
  EXPECT_EQ(store_->DeleteExpired(), 1);
  ASSERT_TRUE(store_->Flush().ok());
  Reopen();
  EXPECT_FALSE(Found("a"));
  EXPECT_EQ(store_->Stats().live_keys, 0);
}

TEST_F(ExpiryTest, ASetWithoutAnExpiryClearsTheOneTheKeyHad) {
  ASSERT_TRUE(
      items().Set("a", MakeItem("A"), ExpiringIn(absl::Seconds(5))).ok());
  ASSERT_TRUE(items().Set("a", MakeItem("A2")).ok());
  EXPECT_EQ(store_->Stats().expiring_keys, 0);
  clock_.Advance(absl::Seconds(10));
  EXPECT_TRUE(Found("a"));
  Reopen();
  EXPECT_TRUE(Found("a"));
  EXPECT_EQ(store_->Stats().expiring_keys, 0);
}

TEST_F(ExpiryTest, AWriteOfAnExpiredKeyDeletesItFirstAsAChangeOfItsOwn) {
  ASSERT_TRUE(
      items().Set("a", MakeItem("A"), ExpiringIn(absl::Seconds(1))).ok());
  const uint64_t before = store_->Revision();
  clock_.Advance(absl::Seconds(1));
  WriteOptions create;
  create.precondition = Precondition::MustNotExist();
  absl::StatusOr<WriteResult> set = items().Set("a", MakeItem("A2"), create);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_FALSE(set->existed);
  EXPECT_EQ(set->revision, before + 2);
  const std::vector<Change> changes = ChangesFrom(before + 1);
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_TRUE(changes[0].expired);
  EXPECT_TRUE(changes[0].value == nullptr);
  EXPECT_FALSE(changes[1].expired);
  ASSERT_TRUE(changes[1].value != nullptr);
  EXPECT_EQ(store_->Stats().expirations, 1u);
  EXPECT_EQ(store_->DeleteExpired(), 0);
  Reopen();
  EXPECT_TRUE(Found("a"));
}

TEST_F(ExpiryTest, AMemoryWriteAfterAnExpiryStaysInMemory) {
  ASSERT_TRUE(
      items().Set("a", MakeItem("A"), ExpiringIn(absl::Seconds(1))).ok());
  clock_.Advance(absl::Seconds(1));
  WriteOptions memory;
  memory.durability = Durability::kMemory;
  ASSERT_TRUE(items().Set("a", MakeItem("M"), memory).ok());
  EXPECT_TRUE(Found("a"));
  // The same once the sweep, not the write, deleted it.
  ASSERT_TRUE(
      items().Set("b", MakeItem("B"), ExpiringIn(absl::Seconds(1))).ok());
  clock_.Advance(absl::Seconds(1));
  EXPECT_EQ(store_->DeleteExpired(), 1);
  ASSERT_TRUE(items().Set("b", MakeItem("N"), memory).ok());
  // The expiries' deletes reach the file; the MEMORY values do not.
  Reopen();
  EXPECT_FALSE(Found("a"));
  EXPECT_FALSE(Found("b"));
  const std::string file = ReadFileOrDie(path_);
  EXPECT_THAT(file, Not(HasSubstr("\"M\"")));
  EXPECT_THAT(file, Not(HasSubstr("\"N\"")));
}

TEST_F(ExpiryTest, AListingAtARevisionLeavesExpiredEntriesOut) {
  ASSERT_TRUE(
      items().Set("a", MakeItem("A"), ExpiringIn(absl::Seconds(1))).ok());
  ASSERT_TRUE(items().Set("b", MakeItem("B"), ExpiringIn(absl::Hours(1))).ok());
  clock_.Advance(absl::Seconds(1));
  absl::StatusOr<ListingAtRevision> listing =
      ListAtRevision(*store_, items().dynamic(), "");
  ASSERT_TRUE(listing.ok()) << listing.status();
  ASSERT_EQ(listing->entries.size(), 1u);
  EXPECT_EQ(listing->entries[0].key, "b");
  EXPECT_EQ(listing->entries[0].entry.expires,
            clock_.Now() - absl::Seconds(1) + absl::Hours(1));
}

TEST_F(ExpiryTest, ABatchWritesItsExpiriesInItsFrame) {
  DynamicMap* map = &items().dynamic();
  std::vector<BatchOperation> operations;
  operations.push_back(
      BatchOperation::Set(map, "a", std::make_shared<Item>(MakeItem("A"))));
  operations.back().expires = clock_.Now() + absl::Seconds(30);
  operations.push_back(
      BatchOperation::Set(map, "b", std::make_shared<Item>(MakeItem("B"))));
  ASSERT_TRUE(store_->Write(std::move(operations)).ok());
  EXPECT_THAT(ReadFileOrDie(path_),
              HasSubstr("B 3\n\nS items:a\n{\"name\":\"A\"}\nE items:a\n"));
  Reopen();
  EXPECT_EQ(store_->Stats().expiring_keys, 1);
  clock_.Advance(absl::Seconds(30));
  EXPECT_FALSE(Found("a"));
  EXPECT_TRUE(Found("b"));
}

TEST_F(ExpiryTest, ShrinkKeepsExpiriesAndLeavesExpiredEntriesOut) {
  ASSERT_TRUE(
      items().Set("soon", MakeItem("S"), ExpiringIn(absl::Seconds(1))).ok());
  ASSERT_TRUE(
      items().Set("later", MakeItem("L"), ExpiringIn(absl::Hours(1))).ok());
  ASSERT_TRUE(items().Set("never", MakeItem("N")).ok());
  clock_.Advance(absl::Seconds(1));
  absl::StatusOr<ShrinkResult> shrunk = store_->Shrink();
  ASSERT_TRUE(shrunk.ok()) << shrunk.status();
  EXPECT_EQ(shrunk->records_after, 2u);
  const std::string file = ReadFileOrDie(path_);
  EXPECT_THAT(file, Not(HasSubstr("items:soon")));
  // Framed, so that a repair cannot keep the value without its expiry.
  EXPECT_THAT(file, HasSubstr("B 2\n\nS items:later\n{\"name\":\"L\"}\n"
                              "E items:later\n"));
  EXPECT_THAT(file, Not(HasSubstr("E items:never")));
  Reopen();
  EXPECT_EQ(store_->Stats().expiring_keys, 1);
  EXPECT_THAT(Keys(), ::testing::ElementsAre("later", "never"));
}

TEST_F(ExpiryTest, RecordsOfUndeclaredMapsKeepTheirExpiries) {
  store_.reset();
  const std::string expiry =
      FormatExpiry(ExpiryNanos(clock_.Now() + absl::Minutes(5)));
  const std::string past = FormatExpiry(ExpiryNanos(clock_.Now()));
  WriteFileOrDie(path_,
                 absl::StrCat("go-persist 1\n", "S ghost:g\n{\"name\":\"G\"}\n",
                              "E ghost:g\n", expiry, "\n",
                              "S ghost:old\n{}\nE ghost:old\n", past, "\n"));
  Reopen();
  ASSERT_TRUE(store_->Shrink().ok());
  const std::string file = ReadFileOrDie(path_);
  EXPECT_THAT(file, HasSubstr(absl::StrCat(
                        "B 2\n\nS ghost:g\n{\"name\":\"G\"}\nE ghost:g\n",
                        expiry, "\n")));
  // Expired: Shrink leaves it out, as it does the declared maps' entries,
  // and forgets it.
  EXPECT_THAT(file, Not(HasSubstr("ghost:old")));
  EXPECT_EQ(store_->Stats().orphan_keys, 1);
  absl::StatusOr<Map<Item>> ghost = store_->DeclareMap<Item>("ghost");
  ASSERT_TRUE(ghost.ok()) << ghost.status();
  absl::StatusOr<Entry<Item>> entry = ghost->Get("g");
  ASSERT_TRUE(entry.ok() && entry->found());
  EXPECT_EQ(ExpiryNanos(entry->expires),
            ExpiryNanos(clock_.Now() + absl::Minutes(5)));
  clock_.Advance(absl::Minutes(5));
  EXPECT_FALSE(ghost->Get("g")->found());
}

TEST_F(ExpiryTest, AValueWhoseExpiryWasCutOffByACrashIsLostWithIt) {
  store_.reset();
  // The frame "B 2" of a set and its expiry, cut after the set.
  WriteFileOrDie(path_,
                 "go-persist 1\nS items:k\n{\"name\":\"K\"}\n"
                 "B 2\n\nS items:a\n{\"name\":\"A\"}\nE items:a\n2026-");
  Reopen();
  EXPECT_FALSE(Found("a"));
  EXPECT_TRUE(Found("k"));
  EXPECT_EQ(store_->Stats().torn_tail_bytes, 43u);
  EXPECT_EQ(ReadFileOrDie(path_),
            "go-persist 1\nS items:k\n{\"name\":\"K\"}\n");
}

TEST_F(ExpiryTest, ABadExpiryRefusesTheFileNamingItsLine) {
  store_.reset();
  WriteFileOrDie(path_,
                 "go-persist 1\nS items:a\n{\"name\":\"A\"}\n"
                 "E items:a\ntomorrow\nS items:b\n{}\n");
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(Options());
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr("line 5"));
  EXPECT_THAT(store.status().message(), HasSubstr("key \"a\""));
  EXPECT_THAT(store.status().message(), HasSubstr("RFC 3339"));
}

TEST_F(ExpiryTest, AnExpiryOfAKeyWithNoValueChangesNothing) {
  store_.reset();
  WriteFileOrDie(path_,
                 "go-persist 1\nE items:a\n2020-01-01T00:00:00Z\n"
                 "S items:a\n{\"name\":\"A\"}\n");
  Reopen();
  EXPECT_TRUE(Found("a"));
  EXPECT_EQ(store_->Stats().expiring_keys, 0);
}

TEST(ExpiryFormatTest, RoundTripsNanosecondsInUtc) {
  const int64_t nanos = 1796313600123456789;
  EXPECT_EQ(FormatExpiry(nanos), "2026-12-03T16:00:00.123456789Z");
  EXPECT_EQ(*ParseExpiry(FormatExpiry(nanos)), nanos);
  EXPECT_EQ(*ParseExpiry("2026-12-03T17:00:00+01:00"), 1796313600000000000);
  EXPECT_FALSE(ParseExpiry("2026-12-03").ok());
  EXPECT_EQ(ExpiryNanos(absl::UnixEpoch() - absl::Hours(1)), 1);
  EXPECT_EQ(ExpiryNanos(absl::InfiniteFuture()), kNoExpiry);
}

}  // namespace
}  // namespace persist
