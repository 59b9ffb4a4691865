// Store::StartSnapshot (storage/wal_snapshot.h): the copy holds every
// change made before it at ASYNC, WRITE and FSYNC, opens as a WAL with
// nothing torn, and stays as it was while writes and a Shrink go on. Runs
// under ThreadSanitizer too (label concurrency): one test races writers.
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/store.h"
#include "storage/wal_snapshot.h"
#include "tests/proto/make_item.h"
#include "tests/storage/fault_injection_file_system.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using persist::testing::MakeItem;
using testing::FaultInjectionFileSystem;
using ::testing::HasSubstr;
using testing::QuietStoreOptions;
using testing::TempDir;
using Op = FaultInjectionFileSystem::Op;

std::unique_ptr<Store> OpenOrDie(const StoreOptions& options) {
  absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
  EXPECT_TRUE(store.ok()) << store.status();
  return store.ok() ? *std::move(store) : nullptr;
}

// The whole copy, read as the service reads it, a piece at a time.
std::string CopyOf(const WalSnapshot& snapshot) {
  std::string copy;
  std::string piece;
  for (uint64_t offset = 0; offset < snapshot.bytes; offset += piece.size()) {
    const absl::Status read = snapshot.Read(offset, 1000, &piece);
    EXPECT_TRUE(read.ok()) << read;
    if (!read.ok() || piece.empty()) break;
    copy += piece;
  }
  EXPECT_EQ(copy.size(), snapshot.bytes);
  return copy;
}

class SnapshotTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenOrDie(
        QuietStoreOptions(dir_, {{"items", Item::descriptor()}}, &fs_));
    ASSERT_NE(store_, nullptr);
    items_ = *store_->GetMap<Item>("items");
  }

  // Opens `snapshot` written to a file of its own as a store.
  std::unique_ptr<Store> OpenCopy(const WalSnapshot& snapshot) {
    copies_.push_back(std::make_unique<TempDir>());
    const StoreOptions options =
        QuietStoreOptions(*copies_.back(), {{"items", Item::descriptor()}});
    testing::WriteFileOrDie(options.path, CopyOf(snapshot));
    return OpenOrDie(options);
  }

  static std::string NameIn(Store& store, const std::string& key) {
    absl::StatusOr<Entry<Item>> entry = (*store.GetMap<Item>("items")).Get(key);
    EXPECT_TRUE(entry.ok()) << entry.status();
    return entry.ok() && entry->found() ? entry->value->name() : "<missing>";
  }

  TempDir dir_;
  std::vector<std::unique_ptr<TempDir>> copies_;
  FaultInjectionFileSystem fs_;
  std::unique_ptr<Store> store_;
  Map<Item> items_{nullptr};
};

TEST_F(SnapshotTest, HoldsEveryChangeMadeBeforeItAndOpensWhole) {
  ASSERT_TRUE(items_.Set("written", MakeItem("W")).ok());
  ASSERT_TRUE(
      items_.Set("synced", MakeItem("F"), {.durability = Durability::kFsync})
          .ok());
  ASSERT_TRUE(items_.Set("gone", MakeItem("G")).ok());
  ASSERT_TRUE(items_.Delete("gone").ok());
  // ASYNC: only in memory until a flush, which the snapshot makes.
  ASSERT_TRUE(
      items_.Set("async", MakeItem("A"), {.durability = Durability::kAsync})
          .ok());
  std::vector<BatchOperation> batch = {
      BatchOperation::Set(&items_.dynamic(), "b1",
                          std::make_shared<Item>(MakeItem("B1"))),
      BatchOperation::Set(&items_.dynamic(), "b2",
                          std::make_shared<Item>(MakeItem("B2")))};
  ASSERT_TRUE(store_->Write(std::move(batch)).ok());

  absl::StatusOr<WalSnapshot> snapshot = store_->Snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const StoreStats stats = store_->Stats();
  EXPECT_EQ(snapshot->bytes, stats.file_bytes);
  EXPECT_EQ(snapshot->records, stats.wal_records);
  EXPECT_EQ(CopyOf(*snapshot), testing::ReadFileOrDie(store_->path()));
  // Past its end, nothing.
  std::string past = "x";
  EXPECT_TRUE(snapshot->Read(snapshot->bytes, 10, &past).ok());
  EXPECT_EQ(past, "");

  std::unique_ptr<Store> copy = OpenCopy(*snapshot);
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->Stats().torn_tail_bytes, 0u);
  EXPECT_EQ(copy->Stats().live_keys, 5);
  EXPECT_EQ(NameIn(*copy, "written"), "W");
  EXPECT_EQ(NameIn(*copy, "synced"), "F");
  EXPECT_EQ(NameIn(*copy, "async"), "A");
  EXPECT_EQ(NameIn(*copy, "b1"), "B1");
  EXPECT_EQ(NameIn(*copy, "b2"), "B2");
  EXPECT_EQ(NameIn(*copy, "gone"), "<missing>");
}

TEST_F(SnapshotTest, StaysAsTakenThroughLaterWritesAndAShrink) {
  ASSERT_TRUE(items_.Set("kept", MakeItem("before")).ok());
  ASSERT_TRUE(items_.Set("deleted later", MakeItem("D")).ok());
  absl::StatusOr<WalSnapshot> snapshot = store_->Snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  const std::string taken = testing::ReadFileOrDie(store_->path());

  ASSERT_TRUE(items_.Set("kept", MakeItem("after")).ok());
  ASSERT_TRUE(items_.Delete("deleted later").ok());
  ASSERT_TRUE(items_.Set("new", MakeItem("N")).ok());
  // The shrink replaces the file the snapshot has open.
  ASSERT_TRUE(store_->Shrink().ok());
  ASSERT_TRUE(items_.Set("newer", MakeItem("N2")).ok());

  EXPECT_EQ(CopyOf(*snapshot), taken);
  std::unique_ptr<Store> copy = OpenCopy(*snapshot);
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(NameIn(*copy, "kept"), "before");
  EXPECT_EQ(NameIn(*copy, "deleted later"), "D");
  EXPECT_EQ(NameIn(*copy, "new"), "<missing>");
  EXPECT_EQ(NameIn(*copy, "newer"), "<missing>");
}

// Writers run while copies are taken, and a Shrink between two of them:
// each copy holds every write acknowledged before it was asked for, and
// since each writer writes its keys in order, the keys of each writer that
// a copy holds are a prefix of what it wrote, with nothing torn.
TEST_F(SnapshotTest, CopiesTakenWhileWritersRunHoldWholePrefixes) {
  constexpr int kWriters = 2;
  constexpr int kCopies = 6;
  std::atomic<bool> stop{false};
  std::vector<std::atomic<int>> acknowledged(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) {
        const Durability durability =
            i % 3 == 0 ? Durability::kFsync : Durability::kWrite;
        const absl::StatusOr<WriteResult> set =
            items_.Set(absl::StrCat("w", w, "-", i), MakeItem(absl::StrCat(i)),
                       {.durability = durability});
        if (!set.ok()) {
          ADD_FAILURE() << set.status();
          stop.store(true);
          return;
        }
        acknowledged[w].store(i + 1);
      }
    });
  }
  const absl::Cleanup join = [&] {
    stop.store(true);
    for (std::thread& writer : writers) writer.join();
  };
  for (int round = 0; round < kCopies; ++round) {
    // Each round waits for some writes of its own, by count.
    const int floor = acknowledged[0].load();
    while (acknowledged[0].load() < floor + 50 && !stop.load()) {
      std::this_thread::yield();
    }
    if (stop.load()) break;  // a writer failed
    std::vector<int> before(kWriters);
    for (int w = 0; w < kWriters; ++w) before[w] = acknowledged[w].load();
    absl::StatusOr<WalSnapshot> snapshot = store_->Snapshot();
    ASSERT_TRUE(snapshot.ok()) << snapshot.status();
    if (round == kCopies / 2) {
      ASSERT_TRUE(store_->Shrink().ok());
    }

    std::unique_ptr<Store> copy = OpenCopy(*snapshot);
    ASSERT_NE(copy, nullptr);
    EXPECT_EQ(copy->Stats().torn_tail_bytes, 0u);
    Map<Item> copied = *copy->GetMap<Item>("items");
    int64_t held = 0;
    for (int w = 0; w < kWriters; ++w) {
      int prefix = 0;
      while (true) {
        absl::StatusOr<Entry<Item>> entry =
            copied.Get(absl::StrCat("w", w, "-", prefix));
        ASSERT_TRUE(entry.ok()) << entry.status();
        if (!entry->found()) break;
        ASSERT_EQ(entry->value->name(), absl::StrCat(prefix));
        ++prefix;
      }
      EXPECT_GE(prefix, before[w]) << "round " << round << " writer " << w;
      held += prefix;
    }
    // Nothing past each writer's prefix.
    EXPECT_EQ(copy->Stats().live_keys, held) << "round " << round;
  }
}

TEST_F(SnapshotTest, RefusedOnceTheWalFailedOrTheStoreIsClosed) {
  fs_.FailAfter(Op::kAppend, 0, absl::DataLossError("injected: disk gone"));
  EXPECT_FALSE(items_.Set("lost", MakeItem("L")).ok());
  absl::StatusOr<WalSnapshot> failed = store_->Snapshot();
  EXPECT_TRUE(absl::IsUnavailable(failed.status())) << failed.status();
  EXPECT_THAT(failed.status().message(), HasSubstr("disk gone"));

  ASSERT_FALSE(store_->Close().ok());
  absl::StatusOr<WalSnapshot> closed = store_->Snapshot();
  EXPECT_TRUE(absl::IsUnavailable(closed.status())) << closed.status();
  EXPECT_THAT(closed.status().message(), HasSubstr("closed"));
}

}  // namespace
}  // namespace persist
