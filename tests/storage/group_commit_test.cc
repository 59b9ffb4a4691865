// How records reach the WAL (storage/internal/group_commit_queue.h): a
// writer that finds the WAL idle writes its record on its own thread; the
// next batches are written while an fsync runs; and no FSYNC write is
// acknowledged before an fdatasync that began after its record was written
// has returned (checked by power loss through the fault-injecting file
// layer).
#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "base/mutex.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/store.h"
#include "tests/storage/fault_injection_file_system.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using testing::FaultInjectionFileSystem;
using testing::QuietStoreOptions;
using testing::TempDir;
using Op = FaultInjectionFileSystem::Op;

constexpr absl::Duration kPatience = absl::Seconds(30);

WriteOptions With(Durability durability) {
  WriteOptions options;
  options.durability = durability;
  return options;
}

std::shared_ptr<const Item> MakeItem(const std::string& name) {
  auto item = std::make_shared<Item>();
  item->set_name(name);
  return item;
}

// A write's completion, as the test thread sees it.
struct Completion {
  Notification done;
  absl::Status status;
  std::thread::id thread;
  int64_t syncs_before = -1;  // fdatasyncs begun when it completed
  WriteCallback Callback(const FaultInjectionFileSystem* fs) {
    return [this, fs](absl::StatusOr<WriteResult> result) {
      status = result.status();
      thread = std::this_thread::get_id();
      syncs_before = fs->Count(Op::kSync);
      done.Notify();
    };
  }
};

class GroupCommitTest : public ::testing::Test {
 protected:
  // No background flushes: every write and fsync is the test's.
  std::unique_ptr<Store> Open() {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(
        QuietStoreOptions(dir_, {{"items", Item::descriptor()}}, &fs_));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  TempDir dir_;
  FaultInjectionFileSystem fs_;
};

TEST_F(GroupCommitTest, AWriterThatFindsTheWalIdleWritesItself) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  // A new file's header is written and synced by Open.
  const int64_t appends = fs_.Count(Op::kAppend);
  const int64_t syncs = fs_.Count(Op::kSync);
  Completion write;
  items.StartSet("a", MakeItem("a"), With(Durability::kWrite),
                 write.Callback(&fs_));
  // Completed before StartSet returned, on this thread: no hand-off to
  // another thread and no wake-up.
  ASSERT_TRUE(write.done.HasBeenNotified());
  EXPECT_TRUE(write.status.ok()) << write.status;
  EXPECT_EQ(write.thread, std::this_thread::get_id());
  EXPECT_EQ(fs_.Count(Op::kAppend), appends + 1);
  EXPECT_EQ(fs_.Count(Op::kSync), syncs);  // WRITE: in the kernel, no fsync
}

TEST_F(GroupCommitTest, WritesGoOnWhileAnFsyncRunsAndEachFsyncWaitsForItsOwn) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  const int64_t syncs = fs_.Count(Op::kSync);  // Open's, of the header
  fs_.HoldNext(Op::kSync);
  Completion first;
  items.StartSet("first", MakeItem("first"), With(Durability::kFsync),
                 first.Callback(&fs_));
  ASSERT_TRUE(fs_.WaitUntilHeld(kPatience));  // its fdatasync has begun

  // While that fdatasync runs: a WRITE completes, and an FSYNC write is
  // written but not acknowledged, since the fdatasync began before.
  Completion during;
  items.StartSet("during", MakeItem("during"), With(Durability::kWrite),
                 during.Callback(&fs_));
  if (!during.done.WaitForNotificationWithTimeout(kPatience)) {
    fs_.Release();
    FAIL() << "a WRITE waited for an fdatasync";
  }
  EXPECT_TRUE(during.status.ok()) << during.status;
  Completion second;
  items.StartSet("second", MakeItem("second"), With(Durability::kFsync),
                 second.Callback(&fs_));
  EXPECT_FALSE(first.done.HasBeenNotified());
  EXPECT_FALSE(second.done.HasBeenNotified());

  fs_.Release();
  ASSERT_TRUE(first.done.WaitForNotificationWithTimeout(kPatience));
  ASSERT_TRUE(second.done.WaitForNotificationWithTimeout(kPatience));
  EXPECT_TRUE(first.status.ok()) << first.status;
  EXPECT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(first.syncs_before, syncs + 1);
  EXPECT_GE(second.syncs_before, syncs + 2);  // its own fdatasync

  // Power loss now: what was acknowledged as FSYNC is there.
  fs_.Crash();
  store.reset();
  fs_.DropUnsyncedData();
  store = Open();
  items = *store->GetMap<Item>("items");
  for (const char* key : {"first", "second"}) {
    absl::StatusOr<Entry<Item>> entry = items.Get(key);
    ASSERT_TRUE(entry.ok()) << entry.status();
    EXPECT_TRUE(entry->found()) << key;
  }
}

// Many writers at once, at WRITE and FSYNC: every write completes once,
// with OK, and power loss keeps every FSYNC write.
TEST_F(GroupCommitTest, ConcurrentWritersAllCompleteAndFsyncWritesSurvive) {
  auto store = Open();
  Map<Item> items = *store->GetMap<Item>("items");
  constexpr int kThreads = 8;
  constexpr int kWrites = 200;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kWrites; ++i) {
        const Durability durability =
            (i + t) % 2 == 0 ? Durability::kFsync : Durability::kWrite;
        const std::string key = absl::StrCat(t, "-", i);
        if (!items.Set(key, MakeItem(key), With(durability)).ok()) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_LT(fs_.Count(Op::kSync), kThreads * kWrites / 2);  // shared fsyncs

  fs_.Crash();
  store.reset();
  fs_.DropUnsyncedData();
  store = Open();
  items = *store->GetMap<Item>("items");
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kWrites; ++i) {
      if ((i + t) % 2 != 0) continue;
      const std::string key = absl::StrCat(t, "-", i);
      absl::StatusOr<Entry<Item>> entry = items.Get(key);
      ASSERT_TRUE(entry.ok()) << entry.status();
      EXPECT_TRUE(entry->found()) << key;
    }
  }
}

}  // namespace
}  // namespace persist
