// I/O failures and power loss through the fault-injecting file layer: a
// failed write or fsync stops writes and keeps reads; every FSYNC-
// acknowledged write survives power loss; Shrink fails or crashes at every
// step without changing the state.
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>

#include "absl/strings/str_cat.h"
#include "base/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/store.h"
#include "tests/proto/make_item.h"
#include "tests/storage/fault_injection_file_system.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using testing::CapturedLog;
using testing::FaultInjectionFileSystem;
using ::testing::HasSubstr;
using testing::TempDir;
using Op = FaultInjectionFileSystem::Op;

using State = std::map<std::string, std::string>;

WriteOptions With(Durability durability) {
  WriteOptions options;
  options.durability = durability;
  return options;
}

using persist::testing::MakeItem;

class StoreFailureTest : public ::testing::Test {
 protected:
  std::unique_ptr<Store> Open(
      std::function<void(const absl::Status&)> on_write_failure = nullptr,
      absl::Duration sync_interval = absl::Hours(1)) {
    StoreOptions options;
    options.on_write_failure = std::move(on_write_failure);
    options.path = path_;
    options.maps = {{"items", Item::descriptor()}};
    options.log = log_.Sink();
    options.file_system = &fs_;
    options.sync_interval = sync_interval;  // by default no background writes
    options.auto_shrink.enabled = false;
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  static State Contents(Store& store) {
    State state;
    EXPECT_TRUE(store.GetMap<Item>("items")
                    ->Range([&](absl::string_view key, const Entry<Item>& e) {
                      state[std::string(key)] = e.value->name();
                      return true;
                    })
                    .ok());
    return state;
  }

  TempDir dir_;
  const std::string path_ = dir_.Path("data.wal");
  CapturedLog log_;
  FaultInjectionFileSystem fs_;
};

TEST_F(StoreFailureTest, FailedWriteStopsWritesAndReadsGoOn) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  ASSERT_TRUE(items.Set("before", MakeItem("ok")).ok());
  fs_.FailAfter(Op::kAppend, 0, absl::InternalError("injected EIO"));
  absl::StatusOr<WriteResult> failed = items.Set("failed", MakeItem("x"));
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("injected EIO"));
  EXPECT_THAT(failed.status().message(), HasSubstr("stopped taking writes"));

  // Every later write fails at once, whatever its durability; reads go on.
  for (Durability d : {Durability::kMemory, Durability::kAsync,
                       Durability::kWrite, Durability::kFsync}) {
    EXPECT_FALSE(items.Set("later", MakeItem("y"), With(d)).ok());
  }
  EXPECT_FALSE(items.Get("later")->found());
  EXPECT_EQ(items.Get("before")->value->name(), "ok");
  EXPECT_FALSE(store->Health().ok());
  EXPECT_FALSE(store->Stats().health.ok());
  EXPECT_FALSE(store->Shrink().ok());
  EXPECT_FALSE(store->Close().ok());

  store = Open();
  EXPECT_EQ(Contents(*store), (State{{"before", "ok"}}));
}

TEST_F(StoreFailureTest, FailureOfTheBackgroundFlushIsReportedAtOnce) {
  // Only the flusher writes ASYNC changes: no caller sees its failure, yet
  // the store must say at once that writes stopped.
  Notification reported;
  std::string report;
  auto store = Open(
      [&](const absl::Status& status) {
        report = std::string(status.message());
        reported.Notify();
      },
      absl::Milliseconds(10));
  Map<Item> items = *store->GetMap<Item>("items");
  fs_.FailAfter(Op::kAppend, 0, absl::InternalError("injected EIO"));
  ASSERT_TRUE(items.Set("async", MakeItem("a"), With(Durability::kAsync)).ok());
  ASSERT_TRUE(reported.WaitForNotificationWithTimeout(absl::Seconds(60)));
  EXPECT_THAT(report, HasSubstr("injected EIO"));
  EXPECT_TRUE(log_.Contains("stopped taking writes"));
  EXPECT_FALSE(store->Health().ok());
}

TEST_F(StoreFailureTest, FailureIsLoggedAndReportedOnceWhoeverHitIt) {
  std::vector<std::string> reports;
  auto store = Open([&reports](const absl::Status& status) {
    reports.emplace_back(status.message());
  });
  Map<Item> items = *store->GetMap<Item>("items");
  ASSERT_TRUE(items.Set("async", MakeItem("a"), With(Durability::kAsync)).ok());
  fs_.FailAfter(Op::kAppend, 0, absl::InternalError("injected EIO"));
  EXPECT_FALSE(store->Flush().ok());
  ASSERT_EQ(reports.size(), 1u);
  EXPECT_THAT(reports[0], HasSubstr("injected EIO"));
  EXPECT_TRUE(log_.Contains("stopped taking writes"));
  EXPECT_FALSE(items.Set("b", MakeItem("b"), With(Durability::kWrite)).ok());
  EXPECT_FALSE(store->Flush().ok());
  EXPECT_EQ(reports.size(), 1u);
}

TEST_F(StoreFailureTest, FailedFsyncIsNeverRetried) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  fs_.FailAfter(Op::kSync, 0, absl::DataLossError("injected fsync failure"));
  absl::StatusOr<WriteResult> failed =
      items.Set("a", MakeItem("a"), With(Durability::kFsync));
  ASSERT_FALSE(failed.ok());
  EXPECT_THAT(failed.status().message(), HasSubstr("injected fsync failure"));
  const int64_t syncs = fs_.Count(Op::kSync);
  EXPECT_FALSE(items.Set("b", MakeItem("b"), With(Durability::kFsync)).ok());
  EXPECT_FALSE(store->Flush().ok());
  EXPECT_EQ(fs_.Count(Op::kSync), syncs);
}

// Whatever the errno (ENOSPC here, EROFS after ext4's errors=remount-ro,
// EIO...), a store that stopped taking writes answers Unavailable, and the
// message names the cause once.
TEST_F(StoreFailureTest, FullDiskStopsWritesAsUnavailableNamingTheCause) {
  auto store = Open();
  fs_.FailAfter(Op::kAppend, 0,
                absl::ResourceExhaustedError(
                    "write to data.wal: No space left on device (errno 28)"));
  absl::StatusOr<WriteResult> failed =
      store->GetMap<Item>("items")->Set("a", MakeItem("a"));
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(failed.status().message(),
              HasSubstr("No space left on device (errno 28)"));
  EXPECT_EQ(store->Health().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(store->GetMap<Item>("items")
                ->Set("b", MakeItem("b"), With(Durability::kAsync))
                .status()
                .code(),
            absl::StatusCode::kUnavailable);
}

TEST_F(StoreFailureTest, ShortWriteLeavesATornTailThatRecovers) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  ASSERT_TRUE(items.Set("a", MakeItem("a")).ok());
  fs_.FailAfter(Op::kAppend, 0, absl::InternalError("injected short write"),
                /*partial_bytes=*/7);
  EXPECT_FALSE(items.Set("b", MakeItem("b")).ok());
  store.reset();
  store = Open();
  EXPECT_EQ(Contents(*store), (State{{"a", "a"}}));
  EXPECT_EQ(store->Stats().torn_tail_bytes, 7u);
}

TEST_F(StoreFailureTest, PowerLossKeepsEveryFsyncAcknowledgedWrite) {
  std::mt19937 random(7);
  State durable;  // what FSYNC acknowledged, and what it overwrote since
  for (int round = 0; round < 30; ++round) {
    SCOPED_TRACE(absl::StrCat("round ", round));
    auto store = Open();
    ASSERT_NE(store, nullptr);
    Map<Item> items = *store->GetMap<Item>("items");
    EXPECT_EQ(Contents(*store), durable);
    // Only FSYNC writes may change `durable`; the others touch other keys.
    const int writes = 1 + random() % 40;
    for (int i = 0; i < writes; ++i) {
      const std::string name = absl::StrCat(round, "/", i);
      if (random() % 2) {
        const std::string key = absl::StrCat("f", random() % 20);
        ASSERT_TRUE(
            items.Set(key, MakeItem(name), With(Durability::kFsync)).ok());
        durable[key] = name;
      } else {
        const std::string key = absl::StrCat("w", random() % 20);
        const auto d = random() % 2 ? Durability::kWrite : Durability::kAsync;
        ASSERT_TRUE(items.Set(key, MakeItem(name), With(d)).ok());
      }
    }
    fs_.Crash();
    store.reset();  // its Close fails: the "machine" is off
    fs_.DropUnsyncedData();
    // Unsynced keys may or may not have made it; forget them before the
    // next round compares.
    store = Open();
    Map<Item> reopened = *store->GetMap<Item>("items");
    for (const auto& [key, name] : durable) {
      ASSERT_TRUE(reopened.Get(key)->found()) << key;
      EXPECT_EQ(reopened.Get(key)->value->name(), name) << key;
    }
    for (int k = 0; k < 20; ++k) {
      ASSERT_TRUE(
          reopened.Delete(absl::StrCat("w", k), With(Durability::kFsync)).ok());
    }
  }
}

TEST_F(StoreFailureTest, ShrinkFailingAtEachStepKeepsStoreAndFile) {
  const Op steps[] = {Op::kCreate, Op::kAppend, Op::kSync, Op::kRename};
  for (Op step : steps) {
    SCOPED_TRACE(absl::StrCat("failing op ", static_cast<int>(step)));
    auto store = Open();
    Map<Item> items = *store->GetMap<Item>("items");
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(
          items.Set(absl::StrCat("k", i % 4), MakeItem(absl::StrCat(i))).ok());
    }
    const State before = Contents(*store);
    fs_.FailAfter(step, 0, absl::InternalError("injected shrink failure"));
    absl::StatusOr<ShrinkResult> result = store->Shrink();
    EXPECT_FALSE(result.ok());
    // Before the rename the old file is intact and the store healthy.
    EXPECT_TRUE(store->Health().ok()) << store->Health();
    ASSERT_TRUE(items.Set("after", MakeItem("a")).ok());
    EXPECT_FALSE(testing::ReadFileOrDie(path_).empty());
    EXPECT_FALSE(PosixFileSystem()->FileSize(path_ + ".shrink").ok());
    State expected = before;
    expected["after"] = "a";
    EXPECT_EQ(Contents(*store), expected);
    store.reset();
    store = Open();
    EXPECT_EQ(Contents(*store), expected);
    ASSERT_TRUE(store->GetMap<Item>("items")->Delete("after").ok());
    store.reset();
  }
}

TEST_F(StoreFailureTest, FailedFolderSyncAfterShrinkRenameStopsWrites) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  ASSERT_TRUE(items.Set("a", MakeItem("a")).ok());
  ASSERT_TRUE(items.Set("a", MakeItem("b")).ok());
  fs_.FailAfter(Op::kSyncDir, 0, absl::InternalError("injected dir fsync"));
  EXPECT_FALSE(store->Shrink().ok());
  // The rename may not be durable: nothing more may be acknowledged.
  EXPECT_FALSE(store->Health().ok());
  EXPECT_FALSE(items.Set("c", MakeItem("c")).ok());
  EXPECT_EQ(items.Get("a")->value->name(), "b");
}

TEST_F(StoreFailureTest, CrashAtEveryStepOfShrinkLeavesACompleteFile) {
  // Count the file operations of one Shrink, then crash after each.
  int64_t ops_in_shrink = 0;
  {
    auto store = Open();
    Map<Item> items = *store->GetMap<Item>("items");
    for (int i = 0; i < 10; ++i) {
      ASSERT_TRUE(items
                      .Set(absl::StrCat("k", i % 4), MakeItem(absl::StrCat(i)),
                           With(Durability::kFsync))
                      .ok());
    }
    auto total = [&] {
      int64_t n = 0;
      for (Op op : {Op::kAppend, Op::kSync, Op::kCreate, Op::kRename,
                    Op::kSyncDir, Op::kTruncate}) {
        n += fs_.Count(op);
      }
      return n;
    };
    const int64_t before = total();
    ASSERT_TRUE(store->Shrink().ok());
    ops_in_shrink = total() - before;
  }
  ASSERT_GE(ops_in_shrink, 5);  // create, append, sync, rename, sync folder
  const State expected = {{"k0", "8"}, {"k1", "9"}, {"k2", "6"}, {"k3", "7"}};
  for (int crash_at = 0; crash_at <= ops_in_shrink; ++crash_at) {
    SCOPED_TRACE(absl::StrCat("crash after ", crash_at, " file operations"));
    auto store = Open();
    ASSERT_NE(store, nullptr);
    ASSERT_EQ(Contents(*store), expected);
    // Make the file worth shrinking again.
    ASSERT_TRUE(store->GetMap<Item>("items")
                    ->Set("k0", MakeItem("8"), With(Durability::kFsync))
                    .ok());
    fs_.CrashAfter(crash_at);
    (void)store->Shrink();
    store.reset();
    fs_.DropUnsyncedData();
  }
  auto store = Open();
  EXPECT_EQ(Contents(*store), expected);
}

}  // namespace
}  // namespace persist
