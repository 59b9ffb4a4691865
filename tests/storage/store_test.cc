// The Store and its maps through the public API, on real files.
#include "storage/store.h"

#include <sys/stat.h>

#include <memory>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/dynamic_message.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/map.h"
#include "storage/names.h"
#include "tests/proto/make_item.h"
#include "tests/storage/fault_injection_file_system.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using persist::test::v1::Other;
using testing::CapturedLog;
using testing::FaultInjectionFileSystem;
using ::testing::HasSubstr;
using testing::ReadFileOrDie;
using testing::TempDir;
using testing::WriteFileOrDie;

using persist::testing::MakeItem;

WriteOptions With(Durability durability) {
  WriteOptions options;
  options.durability = durability;
  return options;
}

class StoreTest : public ::testing::Test {
 protected:
  StoreOptions Options() {
    StoreOptions options;
    options.path = path_;
    options.maps = {{"items", Item::descriptor()}};
    options.log = log_.Sink();
    options.auto_shrink.enabled = false;
    return options;
  }

  std::unique_ptr<Store> OpenOrDie(StoreOptions options) {
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  std::unique_ptr<Store> OpenOrDie() { return OpenOrDie(Options()); }
  // ASYNC changes reach the file only on an explicit Flush or Close.
  std::unique_ptr<Store> OpenWithoutBackgroundFlush() {
    auto options = Options();
    options.sync_interval = absl::Hours(1);
    return OpenOrDie(options);
  }

  static Map<Item> Items(Store& store) { return *store.GetMap<Item>("items"); }

  TempDir dir_;
  const std::string path_ = dir_.Path("data.wal");
  CapturedLog log_;
};

TEST_F(StoreTest, CreatesNewFileWithHeader) {
  auto store = OpenOrDie();
  EXPECT_EQ(ReadFileOrDie(path_), "go-persist 1\n");
  EXPECT_TRUE(log_.Contains("created"));
}

TEST_F(StoreTest, TheOpenLogSaysHowManyThreadsDecoded) {
  // A small file decodes on one thread, whatever recovery_threads allows.
  WriteFileOrDie(path_, "go-persist 1\nS items:a\n{\"name\":\"A\"}\n");
  StoreOptions options = Options();
  options.recovery_threads = 4;
  auto store = OpenOrDie(options);
  EXPECT_TRUE(log_.Contains("decoded on 1 threads"));
  EXPECT_FALSE(log_.Contains("decoded on 4 threads"));
}

TEST_F(StoreTest, WritesGoPersistRecordsAndReadsThemBack) {
  {
    auto store = OpenOrDie();
    Map<Item> items = Items(*store);
    ASSERT_TRUE(items.Set("alice", MakeItem("Alice", 3)).ok());
    ASSERT_TRUE(items.Set("bob", MakeItem("Bob", 0)).ok());
    ASSERT_TRUE(items.Delete("bob").ok());
    ASSERT_TRUE(store->Close().ok());
  }
  EXPECT_EQ(ReadFileOrDie(path_),
            "go-persist 1\n"
            "S items:alice\n{\"name\":\"Alice\",\"count\":3}\n"
            "S items:bob\n{\"name\":\"Bob\"}\n"
            "D items:bob\n\n");
  auto store = OpenOrDie();
  Map<Item> items = Items(*store);
  absl::StatusOr<Entry<Item>> alice = items.Get("alice");
  ASSERT_TRUE(alice.ok());
  ASSERT_TRUE(alice->found());
  EXPECT_EQ(alice->value->name(), "Alice");
  EXPECT_EQ(alice->value->count(), 3);
  EXPECT_FALSE(items.Get("bob")->found());
  EXPECT_EQ(items.Size(), 1);
  EXPECT_EQ(store->Stats().wal_records, 3u);
}

TEST_F(StoreTest, KeysMayContainColonsAndUnicode) {
  {
    auto store = OpenOrDie();
    ASSERT_TRUE(Items(*store).Set("a:b:c", MakeItem("colons", 1)).ok());
    ASSERT_TRUE(Items(*store).Set("ключ 🔑", MakeItem("unicode", 2)).ok());
  }
  auto store = OpenOrDie();
  EXPECT_EQ(Items(*store).Get("a:b:c")->value->name(), "colons");
  EXPECT_EQ(Items(*store).Get("ключ 🔑")->value->name(), "unicode");
}

TEST_F(StoreTest, RefusesFileWithForeignHeaderAndLeavesItAlone) {
  const std::string foreign = "{\"not\":\"a wal\"}\nS items:a\n{}\n";
  WriteFileOrDie(path_, foreign);
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(Options());
  ASSERT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(), HasSubstr("line 1"));
  EXPECT_THAT(store.status().message(), HasSubstr("go-persist 1"));
  EXPECT_EQ(ReadFileOrDie(path_), foreign);
}

TEST_F(StoreTest, SecondOpenOfTheSameFileIsRefused) {
  auto store = OpenOrDie();
  absl::StatusOr<std::unique_ptr<Store>> second = Store::Open(Options());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(second.status().message(), HasSubstr("another process"));
}

TEST_F(StoreTest, DeleteReportsWhetherTheKeyExisted) {
  auto store = OpenOrDie();
  Map<Item> items = Items(*store);
  ASSERT_TRUE(items.Set("k", MakeItem("v", 1)).ok());
  EXPECT_TRUE(items.Delete("k")->existed);
  EXPECT_FALSE(items.Delete("k")->existed);
}

TEST_F(StoreTest, SetReportsWhetherTheKeyExisted) {
  auto store = OpenOrDie();
  Map<Item> items = Items(*store);
  EXPECT_FALSE(items.Set("k", MakeItem("v", 1))->existed);
  EXPECT_TRUE(items.Set("k", MakeItem("w", 2))->existed);
}

TEST_F(StoreTest, BadKeysAreRefusedNamingTheBytePosition) {
  auto store = OpenOrDie();
  Map<Item> items = Items(*store);
  struct Case {
    std::string key;
    std::string expected;
  };
  const Case cases[] = {
      {"", "key is empty"},
      {"line\nbreak", "position 4"},
      {"tab\there", "position 3"},
      {std::string("nul\0x", 5), "position 3"},
      {"del\x7f", "position 3"},
      {"c1 \xc2\x85", "position 3"},
      {"bad \xff utf8", "position 4"},
      {"cut \xe2\x82", "position 4"},
      {std::string(4097, 'k'), "4097 bytes"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<WriteResult> result = items.Set(c.key, MakeItem("x", 1));
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << c.expected;
    EXPECT_THAT(result.status().message(), HasSubstr(c.expected));
    EXPECT_THAT(result.status().message(), HasSubstr("map \"items\""));
  }
  EXPECT_TRUE(items.Set(std::string(4096, 'k'), MakeItem("x", 1)).ok());
  EXPECT_EQ(items.Size(), 1);
}

TEST(QuotedKeyTest, EscapesAndCutsLongKeys) {
  EXPECT_EQ(QuotedKey("a\"b\x01"), "\"a\\\"b\\x01\"");
  const std::string quoted = QuotedKey(std::string(4096, 'k'));
  EXPECT_EQ(quoted, "\"" + std::string(200, 'k') + "...\"");
}

TEST_F(StoreTest, BadMapNamesAreRefused) {
  auto store = OpenOrDie();
  for (const std::string& name : {std::string("a:b"), std::string("sp ace"),
                                  std::string(129, 'm'), std::string("é")}) {
    absl::StatusOr<DynamicMap*> map =
        store->DeclareMap(name, Item::descriptor());
    EXPECT_EQ(map.status().code(), absl::StatusCode::kInvalidArgument) << name;
  }
  EXPECT_TRUE(
      store->DeclareMap(std::string(128, 'm'), Item::descriptor()).ok());
  EXPECT_TRUE(store->DeclareMap("a-b_c.d9", Item::descriptor()).ok());
  // go-persist's single map (go_persist_compat_test.cc).
  EXPECT_TRUE(store->DeclareMap("", Item::descriptor()).ok());
}

TEST_F(StoreTest, ValuesOfTheWrongTypeAreRefused) {
  auto store = OpenOrDie();
  DynamicMap* items = *store->GetMap("items");
  auto other = std::make_shared<Other>();
  other->set_text("t");
  absl::StatusOr<WriteResult> wrong = items->Set("k", other);
  EXPECT_EQ(wrong.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      wrong.status().message(),
      HasSubstr("holds persist.test.v1.Item, not persist.test.v1.Other"));

  // Right descriptor, wrong implementation: Map<Item> could not hand it out.
  google::protobuf::DynamicMessageFactory factory;
  std::shared_ptr<const google::protobuf::Message> dynamic(
      factory.GetPrototype(Item::descriptor())->New());
  EXPECT_EQ(items->Set("k", dynamic).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(items->Size(), 0);
  EXPECT_EQ(store->GetMap<Other>("items").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, ValuesWithoutJsonFormAreRefusedAtWriteTime) {
  auto store = OpenOrDie();
  Map<Item> items = Items(*store);
  for (Durability d : {Durability::kMemory, Durability::kAsync,
                       Durability::kWrite, Durability::kFsync}) {
    absl::StatusOr<WriteResult> result =
        items.Set("k", MakeItem("bad \xff utf8", 1), With(d));
    EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument)
        << DurabilityName(d);
    EXPECT_THAT(result.status().message(),
                HasSubstr("cannot be written as JSON"));
  }
  EXPECT_EQ(items.Size(), 0);
}

TEST_F(StoreTest, PreconditionsAndEtags) {
  auto store = OpenOrDie();
  Map<Item> items = Items(*store);
  WriteOptions create;
  create.precondition = Precondition::MustNotExist();
  absl::StatusOr<WriteResult> first = items.Set("k", MakeItem("a", 1), create);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(items.Set("k", MakeItem("b", 2), create).status().code(),
            absl::StatusCode::kFailedPrecondition);

  WriteOptions must_exist;
  must_exist.precondition = Precondition::MustExist();
  EXPECT_EQ(items.Set("other", MakeItem("c", 3), must_exist).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(items.Delete("other", must_exist).status().code(),
            absl::StatusCode::kFailedPrecondition);

  const std::string etag = first->etag.ToString();
  EXPECT_EQ(items.Get("k")->etag.ToString(), etag);
  WriteOptions if_match;
  if_match.precondition = Precondition::EtagMatches(etag);
  absl::StatusOr<WriteResult> second =
      items.Set("k", MakeItem("d", 4), if_match);
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_NE(second->etag.ToString(), etag);
  // The old etag is stale now.
  absl::StatusOr<WriteResult> stale =
      items.Set("k", MakeItem("e", 5), if_match);
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(stale.status().message(), HasSubstr("read the key again"));
  EXPECT_EQ(items.Get("k")->value->name(), "d");

  WriteOptions garbage;
  garbage.precondition = Precondition::EtagMatches("not-an-etag");
  EXPECT_EQ(items.Set("k", MakeItem("f", 6), garbage).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST_F(StoreTest, EtagsFromAnEarlierOpenNeverMatch) {
  std::string etag;
  {
    auto store = OpenOrDie();
    etag = Items(*store).Set("k", MakeItem("a", 1))->etag.ToString();
  }
  auto store = OpenOrDie();
  WriteOptions if_match;
  if_match.precondition = Precondition::EtagMatches(etag);
  EXPECT_EQ(Items(*store).Set("k", MakeItem("b", 2), if_match).status().code(),
            absl::StatusCode::kAborted);
}

TEST_F(StoreTest, UpdateSetsDeletesOrCancels) {
  auto store = OpenOrDie();
  Map<Item> items = Items(*store);
  auto increment = [](const Item* current) {
    auto next = std::make_shared<Item>();
    if (current != nullptr) *next = *current;
    next->set_count(next->count() + 1);
    return UpdateDecision<Item>::Set(std::move(next));
  };
  absl::StatusOr<UpdateResult> created = items.Update("n", increment);
  ASSERT_TRUE(created.ok());
  EXPECT_FALSE(created->existed);
  EXPECT_EQ(created->outcome, UpdateResult::Outcome::kSet);
  ASSERT_TRUE(items.Update("n", increment).ok());
  EXPECT_EQ(items.Get("n")->value->count(), 2);

  const Etag before = items.Get("n")->etag;
  absl::StatusOr<UpdateResult> cancelled = items.Update(
      "n", [](const Item*) { return UpdateDecision<Item>::Cancel(); });
  ASSERT_TRUE(cancelled.ok());
  EXPECT_EQ(cancelled->outcome, UpdateResult::Outcome::kCancelled);
  EXPECT_TRUE(cancelled->existed);
  EXPECT_EQ(items.Get("n")->etag, before);

  absl::StatusOr<UpdateResult> deleted = items.Update(
      "n", [](const Item*) { return UpdateDecision<Item>::Delete(); });
  ASSERT_TRUE(deleted.ok());
  EXPECT_EQ(deleted->outcome, UpdateResult::Outcome::kDeleted);
  EXPECT_FALSE(items.Get("n")->found());
  ASSERT_TRUE(store->Close().ok());
  EXPECT_EQ(ReadFileOrDie(path_),
            "go-persist 1\n"
            "S items:n\n{\"count\":1}\n"
            "S items:n\n{\"count\":2}\n"
            "D items:n\n\n");
}

TEST_F(StoreTest, UpdateHonoursPreconditionsWithoutCallingTheFunction) {
  auto store = OpenOrDie();
  Map<Item> items = Items(*store);
  WriteOptions must_exist;
  must_exist.precondition = Precondition::MustExist();
  bool called = false;
  absl::StatusOr<UpdateResult> result = items.Update(
      "missing",
      [&](const Item*) {
        called = true;
        return UpdateDecision<Item>::Delete();
      },
      must_exist);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(called);
}

TEST_F(StoreTest, RangeVisitsEveryKeyOnce) {
  auto store = OpenOrDie();
  Map<Item> items = Items(*store);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(items
                    .Set(absl::StrCat("key", i), MakeItem("v", i),
                         With(Durability::kMemory))
                    .ok());
  }
  std::set<std::string> seen;
  int64_t sum = 0;
  ASSERT_TRUE(items
                  .Range([&](absl::string_view key, const Entry<Item>& entry) {
                    EXPECT_TRUE(seen.insert(std::string(key)).second) << key;
                    sum += entry.value->count();
                    return true;
                  })
                  .ok());
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(sum, 999 * 1000 / 2);
  int visited = 0;
  ASSERT_TRUE(items
                  .Range([&](absl::string_view, const Entry<Item>&) {
                    return ++visited < 10;
                  })
                  .ok());
  EXPECT_EQ(visited, 10);
}

TEST_F(StoreTest, MemoryWritesStayOutOfTheFileUntilShrink) {
  {
    auto store = OpenOrDie();
    Map<Item> items = Items(*store);
    ASSERT_TRUE(items.SetInMemory("m", MakeItem("memory", 1)).ok());
    ASSERT_TRUE(store->Flush().ok());
    EXPECT_EQ(ReadFileOrDie(path_), "go-persist 1\n");
    EXPECT_EQ(items.Get("m")->value->name(), "memory");
    ASSERT_TRUE(store->Shrink().ok());
    EXPECT_EQ(ReadFileOrDie(path_),
              "go-persist 1\nS items:m\n{\"name\":\"memory\",\"count\":1}\n");
    ASSERT_TRUE(items.SetInMemory("lost", MakeItem("lost", 2)).ok());
  }
  auto store = OpenOrDie();
  EXPECT_TRUE(Items(*store).Get("m")->found());
  EXPECT_FALSE(Items(*store).Get("lost")->found());
}

TEST_F(StoreTest, AsyncWritesCoalesceAndReachTheFileOnFlush) {
  auto store = OpenWithoutBackgroundFlush();
  Map<Item> items = Items(*store);
  for (int i = 1; i <= 100; ++i) {
    ASSERT_TRUE(
        items.Set("hot", MakeItem("v", i), With(Durability::kAsync)).ok());
  }
  ASSERT_TRUE(
      items.Set("gone", MakeItem("g", 1), With(Durability::kAsync)).ok());
  ASSERT_TRUE(items.Delete("gone", With(Durability::kAsync)).ok());
  EXPECT_EQ(ReadFileOrDie(path_), "go-persist 1\n");
  const uint64_t syncs_before = store->Stats().wal_syncs;
  ASSERT_TRUE(store->Flush().ok());
  const StoreStats stats = store->Stats();
  EXPECT_EQ(stats.wal_records, 2u);  // one per key, whatever the writes
  EXPECT_GT(stats.wal_syncs, syncs_before);
  const std::string file = ReadFileOrDie(path_);
  EXPECT_THAT(file, HasSubstr("S items:hot\n{\"name\":\"v\",\"count\":100}\n"));
  EXPECT_THAT(file, HasSubstr("D items:gone\n\n"));
}

TEST_F(StoreTest, WriteAfterAsyncSupersedesThePendingRecord) {
  auto store = OpenWithoutBackgroundFlush();
  Map<Item> items = Items(*store);
  ASSERT_TRUE(
      items.Set("k", MakeItem("async", 1), With(Durability::kAsync)).ok());
  ASSERT_TRUE(
      items.Set("k", MakeItem("write", 2), With(Durability::kWrite)).ok());
  ASSERT_TRUE(store->Flush().ok());
  EXPECT_EQ(ReadFileOrDie(path_),
            "go-persist 1\nS items:k\n{\"name\":\"write\",\"count\":2}\n");
}

TEST_F(StoreTest, MemoryWriteAfterAsyncIsWhatTheFlusherWrites) {
  auto store = OpenWithoutBackgroundFlush();
  Map<Item> items = Items(*store);
  ASSERT_TRUE(
      items.Set("k", MakeItem("async", 1), With(Durability::kAsync)).ok());
  ASSERT_TRUE(
      items.Set("k", MakeItem("memory", 2), With(Durability::kMemory)).ok());
  ASSERT_TRUE(
      items.Set("gone", MakeItem("async", 1), With(Durability::kAsync)).ok());
  ASSERT_TRUE(items.Delete("gone", With(Durability::kMemory)).ok());
  ASSERT_TRUE(store->Flush().ok());
  const std::string file = ReadFileOrDie(path_);
  EXPECT_THAT(file,
              HasSubstr("S items:k\n{\"name\":\"memory\",\"count\":2}\n"));
  EXPECT_THAT(file, HasSubstr("D items:gone\n\n"));
  EXPECT_THAT(file, ::testing::Not(HasSubstr("async")));
}

TEST_F(StoreTest, CloseFlushesAsyncWrites) {
  {
    auto store = OpenWithoutBackgroundFlush();
    ASSERT_TRUE(Items(*store)
                    .Set("k", MakeItem("async", 1), With(Durability::kAsync))
                    .ok());
    ASSERT_TRUE(store->Close().ok());
  }
  auto store = OpenOrDie();
  EXPECT_EQ(Items(*store).Get("k")->value->name(), "async");
}

TEST_F(StoreTest, BackgroundFlusherWritesAndSyncsAsyncChanges) {
  FaultInjectionFileSystem fs;  // only to watch the fsyncs
  auto options = Options();
  options.file_system = &fs;
  options.sync_interval = absl::Milliseconds(10);
  auto store = OpenOrDie(options);
  const int64_t syncs = fs.Count(FaultInjectionFileSystem::Op::kSync);
  ASSERT_TRUE(Items(*store)
                  .Set("k", MakeItem("async", 1), With(Durability::kAsync))
                  .ok());
  // The flusher's first fsync comes after it wrote the record.
  ASSERT_TRUE(fs.WaitForCount(FaultInjectionFileSystem::Op::kSync, syncs + 1,
                              absl::Seconds(60)));
  EXPECT_EQ(store->Stats().wal_records, 1u);
  EXPECT_THAT(ReadFileOrDie(path_), HasSubstr("S items:k\n"));
}

TEST_F(StoreTest, ClosedStoreRefusesEveryCall) {
  auto store = OpenOrDie();
  Map<Item> items = Items(*store);
  ASSERT_TRUE(items.Set("k", MakeItem("v", 1)).ok());
  ASSERT_TRUE(store->Close().ok());
  EXPECT_TRUE(store->Close().ok());  // idempotent
  EXPECT_EQ(items.Get("k").status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(items.Get("k").status().message(), HasSubstr("closed"));
  EXPECT_EQ(items.Set("k", MakeItem("w", 2)).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(items.Set("k", MakeItem("w", 2), With(Durability::kAsync))
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->Flush().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->Shrink().status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->Health().code(), absl::StatusCode::kUnavailable);
}

TEST_F(StoreTest, StartFormsCompleteOnceDurable) {
  auto store = OpenOrDie();
  DynamicMap& items = Items(*store).dynamic();
  for (Durability d : {Durability::kMemory, Durability::kAsync,
                       Durability::kWrite, Durability::kFsync}) {
    Notification done;
    absl::StatusOr<WriteResult> result;
    items.StartSet("k", std::make_shared<Item>(MakeItem("v", 1)), With(d),
                   [&](absl::StatusOr<WriteResult> r) {
                     result = std::move(r);
                     done.Notify();
                   });
    done.WaitForNotification();
    ASSERT_TRUE(result.ok()) << DurabilityName(d);
    EXPECT_NE(result->etag.revision, 0u);
  }
  // FSYNC came last: its record is in the file.
  EXPECT_THAT(ReadFileOrDie(path_), HasSubstr("S items:k\n"));
  EXPECT_GE(store->Stats().wal_syncs, 1u);
}

TEST_F(StoreTest, DeclaringAgainReturnsTheSameMapOrRefusesAnotherType) {
  auto store = OpenOrDie();
  DynamicMap* items = *store->GetMap("items");
  EXPECT_EQ(*store->DeclareMap("items", Item::descriptor()), items);
  absl::StatusOr<DynamicMap*> other =
      store->DeclareMap("items", Other::descriptor());
  EXPECT_EQ(other.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store->GetMap("nope").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, RecordsOfUndeclaredMapsAreKeptThroughShrinkAndAdopted) {
  WriteFileOrDie(path_,
                 "go-persist 1\n"
                 "S others:x\n{\"text\":\"kept\"}\n"
                 "S config\n{\"anything\":[1,2]}\n"
                 "S others:y\n{\"text\":\"deleted\"}\n"
                 "D others:y\n\n"
                 "S items:a\n{\"name\":\"A\"}\n"
                 "S items:a\n{\"name\":\"A2\"}\n");
  {
    auto store = OpenOrDie();
    StoreStats stats = store->Stats();
    EXPECT_EQ(stats.orphan_keys, 2);  // others:x and the untyped "config"
    EXPECT_EQ(stats.live_keys, 1);
    ASSERT_TRUE(store->Shrink().ok());
    const std::string file = ReadFileOrDie(path_);
    EXPECT_THAT(file, HasSubstr("S others:x\n{\"text\":\"kept\"}\n"));
    EXPECT_THAT(file, HasSubstr("S config\n{\"anything\":[1,2]}\n"));
    EXPECT_THAT(file, HasSubstr("S items:a\n{\"name\":\"A2\"}\n"));
    EXPECT_EQ(store->Stats().wal_records, 3u);

    absl::StatusOr<Map<Other>> others = store->DeclareMap<Other>("others");
    ASSERT_TRUE(others.ok()) << others.status();
    EXPECT_EQ(others->Get("x")->value->text(), "kept");
    EXPECT_FALSE(others->Get("y")->found());
    EXPECT_EQ(store->Stats().orphan_keys, 1);
  }
  // Declared while opening: decoded straight away.
  auto options = Options();
  options.maps.push_back({"others", Other::descriptor()});
  auto store = OpenOrDie(options);
  EXPECT_EQ((*store->GetMap<Other>("others")).Get("x")->value->text(), "kept");
}

TEST_F(StoreTest, OrphansThatDoNotDecodeLeaveTheMapUndeclared) {
  WriteFileOrDie(path_, "go-persist 1\nS others:x\n{\"nope\":1}\n");
  auto store = OpenOrDie();
  absl::StatusOr<DynamicMap*> others =
      store->DeclareMap("others", Other::descriptor());
  EXPECT_EQ(others.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(others.status().message(), HasSubstr("line 3"));
  EXPECT_THAT(others.status().message(), HasSubstr("nope"));
  // It says what was declared, and what to do; the file did open.
  EXPECT_THAT(others.status().message(),
              HasSubstr("map \"others\" cannot be declared as "));
  EXPECT_THAT(others.status().message(),
              HasSubstr("of the 1 records kept for it, some do not decode"));
  EXPECT_THAT(others.status().message(), ::testing::Not(HasSubstr("offset")));
  EXPECT_EQ(store->GetMap("others").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Stats().orphan_keys, 1);
}

TEST_F(StoreTest, CorruptionBeforeTheTailRefusesToOpenNamingTheLine) {
  const std::string file =
      "go-persist 1\n"
      "S items:a\n{\"name\":\"A\"}\n"
      "S items:b\n{\"name\":\"B\",\"count\":\"x\"}\n"
      "S items:c\n{\"name\":\"C\"}\n";
  WriteFileOrDie(path_, file);
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(Options());
  ASSERT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr("line 5"));
  EXPECT_THAT(store.status().message(), HasSubstr("map \"items\" key \"b\""));
  EXPECT_THAT(store.status().message(), HasSubstr("count"));
  EXPECT_THAT(store.status().message(), HasSubstr("skip_corrupt"));
  EXPECT_EQ(ReadFileOrDie(path_), file);

  auto options = Options();
  options.recovery = RecoveryMode::kSkipCorrupt;
  auto salvaged = OpenOrDie(options);
  EXPECT_EQ(salvaged->Stats().skipped_corrupt, 1);
  EXPECT_TRUE(Items(*salvaged).Get("a")->found());
  EXPECT_FALSE(Items(*salvaged).Get("b")->found());
  EXPECT_TRUE(Items(*salvaged).Get("c")->found());
  EXPECT_TRUE(log_.Contains("skip_corrupt: skipped"));
  salvaged.reset();
  EXPECT_EQ(ReadFileOrDie(path_), file);  // a salvage never rewrites
}

TEST_F(StoreTest, MalformedRecordLineIsCorruption) {
  const std::string file =
      "go-persist 1\n"
      "S items:a\n{\"name\":\"A\"}\n"
      "X items:b\n"
      "S items:c\n{\"name\":\"C\"}\n";
  WriteFileOrDie(path_, file);
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(Options());
  ASSERT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr("line 4"));

  auto options = Options();
  options.recovery = RecoveryMode::kSkipCorrupt;
  auto salvaged = OpenOrDie(options);
  EXPECT_EQ(salvaged->Stats().skipped_corrupt, 1);
  EXPECT_TRUE(Items(*salvaged).Get("c")->found());
}

TEST_F(StoreTest, UnknownFieldsAreAnErrorUnlessIgnored) {
  WriteFileOrDie(path_,
                 "go-persist 1\nS items:a\n{\"name\":\"A\",\"extra\":1}\n");
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(Options());
  ASSERT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(), HasSubstr("extra"));
  EXPECT_THAT(store.status().message(), HasSubstr("ignore_unknown_fields"));

  auto options = Options();
  options.ignore_unknown_fields = true;
  auto opened = OpenOrDie(options);
  EXPECT_EQ(opened->Stats().ignored_unknown_fields, 1);
  EXPECT_EQ(Items(*opened).Get("a")->value->name(), "A");
}

TEST_F(StoreTest, TornTailIsCutAndLogged) {
  WriteFileOrDie(path_,
                 "go-persist 1\nS items:a\n{\"name\":\"A\"}\nS items:b\n{\"na");
  {
    auto store = OpenOrDie();
    EXPECT_TRUE(Items(*store).Get("a")->found());
    EXPECT_FALSE(Items(*store).Get("b")->found());
    EXPECT_EQ(store->Stats().torn_tail_bytes, 14u);
    EXPECT_TRUE(log_.Contains("cut a torn tail of 14 bytes"));
    ASSERT_TRUE(Items(*store).Set("c", MakeItem("C", 1)).ok());
  }
  EXPECT_EQ(ReadFileOrDie(path_),
            "go-persist 1\nS items:a\n{\"name\":\"A\"}\n"
            "S items:c\n{\"name\":\"C\",\"count\":1}\n");
}

TEST_F(StoreTest, ShrinkKeepsTheLiveStateOnly) {
  auto store = OpenOrDie();
  Map<Item> items = Items(*store);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(items.Set("k", MakeItem("v", i)).ok());
    ASSERT_TRUE(items.Set(absl::StrCat("gone", i), MakeItem("g", i)).ok());
    ASSERT_TRUE(items.Delete(absl::StrCat("gone", i)).ok());
  }
  EXPECT_EQ(store->Stats().wal_records, 300u);
  absl::StatusOr<ShrinkResult> result = store->Shrink();
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->records_before, 300u);
  EXPECT_EQ(result->records_after, 1u);
  const std::string expected =
      "go-persist 1\nS items:k\n{\"name\":\"v\",\"count\":99}\n";
  EXPECT_EQ(ReadFileOrDie(path_), expected);
  EXPECT_EQ(store->Stats().file_bytes, expected.size());
  // Writes go on into the new file.
  ASSERT_TRUE(items.Set("after", MakeItem("a", 1)).ok());
  EXPECT_THAT(ReadFileOrDie(path_), HasSubstr("S items:after\n"));
  EXPECT_EQ(store->Stats().wal_records, 2u);
}

// A Shrink asked for while another runs is not answered by that run, whose
// snapshot may predate the caller's last changes: the next run serves it.
TEST_F(StoreTest, AShrinkAskedForDuringAnotherWaitsForARunThatSeesItsChanges) {
  FaultInjectionFileSystem fs;  // to hold the first run at its new file
  auto options = Options();
  options.file_system = &fs;
  auto store = OpenOrDie(options);
  Map<Item> items = Items(*store);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(items.Set(absl::StrCat("k", i), MakeItem("v", i)).ok());
  }
  fs.HoldNext(FaultInjectionFileSystem::Op::kCreate);
  Notification first_done;
  absl::StatusOr<ShrinkResult> first;
  store->StartShrink([&](absl::StatusOr<ShrinkResult> result) {
    first = std::move(result);
    first_done.Notify();
  });
  ASSERT_TRUE(fs.WaitUntilHeld(absl::Seconds(60)));
  for (int i = 0; i < 18; ++i) {
    ASSERT_TRUE(items.Delete(absl::StrCat("k", i)).ok());
  }
  Notification second_done;
  absl::StatusOr<ShrinkResult> second;
  store->StartShrink([&](absl::StatusOr<ShrinkResult> result) {
    second = std::move(result);
    second_done.Notify();
  });
  fs.Release();
  first_done.WaitForNotification();
  second_done.WaitForNotification();
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE(second.ok()) << second.status();
  EXPECT_EQ(store->Stats().shrinks, 2u);
  // What the second caller asked for: the file holds the 2 live keys only,
  // not the first run's 20 plus the 18 deletes.
  EXPECT_EQ(second->records_after, 2u);
  EXPECT_EQ(store->Stats().wal_records, 2u);
}

TEST_F(StoreTest, ShrinkKeepsTheFilesPermissions) {
  // 0660 and 0666: bits the usual umask (022) would clear.
  for (const mode_t mode : {0600, 0660, 0666}) {
    auto store = OpenOrDie();
    Map<Item> items = Items(*store);
    ASSERT_TRUE(items.Set("k", MakeItem("v", 1)).ok());
    ASSERT_TRUE(items.Set("k", MakeItem("v", 2)).ok());
    // A WAL its owner made private stays private after the rewrite.
    ASSERT_EQ(::chmod(path_.c_str(), mode), 0);
    ASSERT_TRUE(store->Shrink().ok());
    struct stat st;
    ASSERT_EQ(::stat(path_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, mode);
    ASSERT_TRUE(store->Close().ok());
  }
}

TEST_F(StoreTest, AutoShrinkRunsWhenDeadRecordsPassTheRatio) {
  auto options = Options();
  options.auto_shrink.enabled = true;
  options.auto_shrink.check_interval = absl::Milliseconds(5);
  options.auto_shrink.min_file_bytes = 0;
  options.auto_shrink.ratio = 1.8;
  auto store = OpenOrDie(options);
  Map<Item> items = Items(*store);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(items.Set("k", MakeItem("v", i)).ok());
  }
  ASSERT_TRUE(log_.WaitFor("shrank", absl::Seconds(60)));
  EXPECT_GE(store->Stats().shrinks, 1u);
  EXPECT_EQ(Items(*store).Get("k")->value->count(), 19);
}

TEST_F(StoreTest, LeftoverShrinkFileIsRemovedAtOpen) {
  WriteFileOrDie(path_, "go-persist 1\nS items:a\n{\"name\":\"A\"}\n");
  WriteFileOrDie(path_ + ".shrink", "go-persist 1\nS items:a\n");
  auto store = OpenOrDie();
  EXPECT_TRUE(Items(*store).Get("a")->found());
  EXPECT_TRUE(log_.Contains("left by a Shrink that did not finish"));
  EXPECT_FALSE(PosixFileSystem()->FileSize(path_ + ".shrink").ok());
}

TEST_F(StoreTest, StatsCountMapsRecordsAndBytes) {
  auto store = OpenOrDie();
  ASSERT_TRUE(store->DeclareMap<Other>("others").ok());
  ASSERT_TRUE(Items(*store).Set("a", MakeItem("A", 1)).ok());
  ASSERT_TRUE(Items(*store).Set("b", MakeItem("B", 1)).ok());
  const StoreStats stats = store->Stats();
  ASSERT_EQ(stats.maps.size(), 2u);
  EXPECT_EQ(stats.maps[0].name, "items");
  EXPECT_EQ(stats.maps[0].type, "persist.test.v1.Item");
  EXPECT_EQ(stats.maps[0].live_keys, 2);
  EXPECT_EQ(stats.maps[1].name, "others");
  EXPECT_EQ(stats.live_keys, 2);
  EXPECT_EQ(stats.wal_records, 2u);
  EXPECT_EQ(stats.file_bytes, ReadFileOrDie(path_).size());
  EXPECT_TRUE(stats.health.ok());
}

}  // namespace
}  // namespace persist
