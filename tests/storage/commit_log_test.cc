// A store with a commit log (storage/commit_log.h): every batch goes to the
// log, in order and numbered from first_commit_seq, before the WAL file
// gets the same bytes; no WRITE or FSYNC write completes before its batch
// is committed; a refused batch stops writes, unacknowledged and absent
// from the file; MEMORY writes are refused. The log here is a test's own
// implementation of the interface (replication/ has the etcd one). Runs
// under ThreadSanitizer too (label concurrency).
#include "storage/commit_log.h"

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/synchronization/notification.h"
#include "base/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/store.h"
#include "tests/proto/make_item.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using persist::testing::MakeItem;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::QuietStoreOptions;
using testing::TempDir;

// Keeps what it is given; refuses every batch from `refuse_from` on, and
// holds the batch `hold` until Release().
class KeepingLog : public CommitLog {
 public:
  struct Appended {
    uint64_t seq = 0;
    std::string records;
    int64_t count = 0;
  };

  absl::Status Append(uint64_t seq, absl::string_view records,
                      int64_t count) override {
    if (seq == hold_) {
      holding_.Notify();
      released_.WaitForNotification();
    }
    MutexLock lock(&mu_);
    if (seq >= refuse_from_) {
      return absl::FailedPreconditionError("deposed: another replica leads");
    }
    appended_.push_back({seq, std::string(records), count});
    return absl::OkStatus();
  }

  std::vector<Appended> appended() const {
    MutexLock lock(&mu_);
    return appended_;
  }
  void RefuseFrom(uint64_t seq) {
    MutexLock lock(&mu_);
    refuse_from_ = seq;
  }
  // Before the store opens.
  void Hold(uint64_t seq) { hold_ = seq; }
  absl::Notification& holding() { return holding_; }
  void Release() { released_.Notify(); }

 private:
  mutable Mutex mu_;
  std::vector<Appended> appended_ ABSL_GUARDED_BY(mu_);
  uint64_t refuse_from_ ABSL_GUARDED_BY(mu_) = UINT64_MAX;
  uint64_t hold_ = UINT64_MAX;
  absl::Notification holding_;
  absl::Notification released_;
};

class CommitLogTest : public ::testing::Test {
 protected:
  StoreOptions Options(CommitLog* log) {
    StoreOptions options =
        QuietStoreOptions(dir_, {{"items", Item::descriptor()}});
    options.commit_log = log;
    options.first_commit_seq = 7;
    return options;
  }
  std::unique_ptr<Store> Open(const StoreOptions& options) {
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }

  TempDir dir_;
  KeepingLog log_;
};

TEST_F(CommitLogTest, EveryBatchIsCommittedInOrderWithTheBytesTheFileGets) {
  std::unique_ptr<Store> store = Open(Options(&log_));
  ASSERT_NE(store, nullptr);
  const uint64_t header_bytes = store->Stats().file_bytes;
  Map<Item> items = *store->GetMap<Item>("items");
  ASSERT_TRUE(items.Set("w", MakeItem("W")).ok());
  ASSERT_TRUE(
      items.Set("f", MakeItem("F"), {.durability = Durability::kFsync}).ok());
  ASSERT_TRUE(
      items.Set("a", MakeItem("A"), {.durability = Durability::kAsync}).ok());
  ASSERT_TRUE(
      store->Flush().ok());  // the ASYNC record goes through the log too
  ASSERT_TRUE(items.Delete("w").ok());
  ASSERT_TRUE(store->Close().ok());

  const std::vector<KeepingLog::Appended> appended = log_.appended();
  ASSERT_FALSE(appended.empty());
  std::string committed;
  int64_t records = 0;
  for (size_t i = 0; i < appended.size(); ++i) {
    EXPECT_EQ(appended[i].seq, 7 + i) << "seqs are consecutive from the first";
    EXPECT_THAT(appended[i].records,
                EndsWith(absl::StrCat("\nC ", 7 + i, "\n\n")))
        << "each entry ends with its commit record";
    committed += appended[i].records;
    records += appended[i].count;
  }
  EXPECT_EQ(records, 4) << "commit records are no changes";
  const std::string file = testing::ReadFileOrDie(dir_.Path("data.wal"));
  ASSERT_EQ(file.size(), header_bytes + committed.size());
  EXPECT_EQ(file.substr(header_bytes), committed);
}

TEST_F(CommitLogTest, AReopenedStoreKnowsItsLastEntryAndCommitsTheNext) {
  std::unique_ptr<Store> store = Open(Options(&log_));
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(store->Stats().commit_seq, 0u) << "a new file holds no entry";
  Map<Item> items = *store->GetMap<Item>("items");
  ASSERT_TRUE(items.Set("a", MakeItem("A")).ok());
  ASSERT_TRUE(items.Set("b", MakeItem("B")).ok());
  EXPECT_EQ(store->Stats().commit_seq, 8u);
  ASSERT_TRUE(store->Close().ok());
  store.reset();

  // Read back from the file: as a store of its own, too.
  std::unique_ptr<Store> alone = Open(Options(nullptr));
  ASSERT_NE(alone, nullptr);
  EXPECT_EQ(alone->Stats().commit_seq, 8u);
  ASSERT_TRUE(alone->Close().ok());
  alone.reset();

  // Asked to continue elsewhere: refused, the file untouched.
  const std::string before = testing::ReadFileOrDie(dir_.Path("data.wal"));
  StoreOptions elsewhere = Options(&log_);
  elsewhere.first_commit_seq = 12;
  absl::StatusOr<std::unique_ptr<Store>> refused = Store::Open(elsewhere);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("holds the commit log's entries up to 8, but the "
                        "store was asked to commit from entry 12"));
  EXPECT_EQ(testing::ReadFileOrDie(dir_.Path("data.wal")), before);

  // Left to the file (0), the next entry is 9.
  StoreOptions after = Options(&log_);
  after.first_commit_seq = 0;
  std::unique_ptr<Store> reopened = Open(after);
  ASSERT_NE(reopened, nullptr);
  ASSERT_TRUE(reopened->GetMap<Item>("items")->Set("c", MakeItem("C")).ok());
  ASSERT_FALSE(log_.appended().empty());
  EXPECT_EQ(log_.appended().back().seq, 9u);
  EXPECT_EQ(reopened->Stats().commit_seq, 9u);
}

TEST_F(CommitLogTest, ACrashInsideAnEntryLeavesTheEntryBeforeIt) {
  {
    std::unique_ptr<Store> store = Open(Options(&log_));
    ASSERT_NE(store, nullptr);
    Map<Item> items = *store->GetMap<Item>("items");
    ASSERT_TRUE(items.Set("a", MakeItem("A")).ok());
    ASSERT_TRUE(items.Set("b", MakeItem("B")).ok());
  }
  const std::string file = testing::ReadFileOrDie(dir_.Path("data.wal"));
  ASSERT_THAT(file, EndsWith("\nC 8\n\n"));
  // Cut at every byte of entry 8's commit record: its record is whole,
  // but the file holds entry 7 only (applying 8 again gives the same
  // state).
  const size_t commit = file.size() - std::string("C 8\n\n").size();
  for (size_t cut = commit; cut < file.size(); ++cut) {
    testing::WriteFileOrDie(dir_.Path("data.wal"), file.substr(0, cut));
    std::unique_ptr<Store> store = Open(Options(nullptr));
    ASSERT_NE(store, nullptr);
    EXPECT_EQ(store->Stats().commit_seq, 7u) << "cut at " << cut;
    EXPECT_TRUE(store->GetMap<Item>("items")->Get("b")->found());
  }
}

TEST_F(CommitLogTest, AShrinkCommitsWhatItsSnapshotHoldsAndKeepsTheLastEntry) {
  std::unique_ptr<Store> store = Open(Options(&log_));
  ASSERT_NE(store, nullptr);
  Map<Item> items = *store->GetMap<Item>("items");
  ASSERT_TRUE(items.Set("a", MakeItem("A1")).ok());
  ASSERT_TRUE(items.Set("a", MakeItem("A2")).ok());
  // In memory only until a flush: the snapshot holds it, so the Shrink
  // commits it before the new file may replace the old one.
  ASSERT_TRUE(
      items.Set("u", MakeItem("U"), {.durability = Durability::kAsync}).ok());
  absl::StatusOr<ShrinkResult> shrunk = store->Shrink();
  ASSERT_TRUE(shrunk.ok()) << shrunk.status();
  ASSERT_EQ(log_.appended().size(), 3u);
  EXPECT_THAT(log_.appended().back().records, HasSubstr("S items:u\n"));
  EXPECT_EQ(store->Stats().commit_seq, 9u);
  ASSERT_TRUE(items.Set("b", MakeItem("B")).ok());
  ASSERT_TRUE(store->Close().ok());
  store.reset();

  const std::string file = testing::ReadFileOrDie(dir_.Path("data.wal"));
  EXPECT_THAT(file, Not(HasSubstr("A1"))) << "shrunk";
  EXPECT_THAT(file, EndsWith("\nC 10\n\n"));
  std::unique_ptr<Store> reopened = Open(Options(nullptr));
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(reopened->Stats().commit_seq, 10u)
      << "the snapshot's entry, then the ones after it, one by one";
  EXPECT_TRUE(reopened->GetMap<Item>("items")->Get("u")->found());
}

TEST_F(CommitLogTest, AShrinkWhoseSnapshotTheLogRefusesLeavesTheOldFile) {
  std::unique_ptr<Store> store = Open(Options(&log_));
  ASSERT_NE(store, nullptr);
  Map<Item> items = *store->GetMap<Item>("items");
  ASSERT_TRUE(items.Set("a", MakeItem("A")).ok());
  ASSERT_TRUE(
      items.Set("u", MakeItem("U"), {.durability = Durability::kAsync}).ok());
  log_.RefuseFrom(8);
  const std::string before = testing::ReadFileOrDie(dir_.Path("data.wal"));
  absl::StatusOr<ShrinkResult> shrunk = store->Shrink();
  ASSERT_FALSE(shrunk.ok());
  EXPECT_EQ(shrunk.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(shrunk.status().message(), HasSubstr("commit log refused"));
  store.reset();

  // The value the log never got is in no file.
  EXPECT_EQ(testing::ReadFileOrDie(dir_.Path("data.wal")), before);
  std::unique_ptr<Store> reopened = Open(Options(nullptr));
  ASSERT_NE(reopened, nullptr);
  EXPECT_FALSE(reopened->GetMap<Item>("items")->Get("u")->found());
  EXPECT_EQ(reopened->Stats().commit_seq, 7u);
}

TEST_F(CommitLogTest, ASnapshotSaysWhichEntriesItHolds) {
  std::unique_ptr<Store> store = Open(Options(&log_));
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->GetMap<Item>("items")->Set("a", MakeItem("A")).ok());
  absl::StatusOr<WalSnapshot> snapshot = store->Snapshot();
  ASSERT_TRUE(snapshot.ok()) << snapshot.status();
  EXPECT_EQ(snapshot->commit_seq, 7u);
}

TEST_F(CommitLogTest, AWriteCompletesOnlyOnceItsBatchIsCommitted) {
  log_.Hold(7);
  std::unique_ptr<Store> store = Open(Options(&log_));
  ASSERT_NE(store, nullptr);
  Map<Item> items = *store->GetMap<Item>("items");
  absl::Notification done;
  absl::StatusOr<WriteResult> result;
  std::thread writer([&] {
    items.StartSet("k", std::make_shared<const Item>(MakeItem("K")), {},
                   [&](absl::StatusOr<WriteResult> written) {
                     result = std::move(written);
                     done.Notify();
                   });
  });
  // The batch is in Append, held.
  ASSERT_TRUE(log_.holding().WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_FALSE(done.HasBeenNotified());
  EXPECT_EQ(store->Stats().wal_records, 0u) << "not in the file before the log";
  log_.Release();
  writer.join();
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(store->Stats().wal_records, 1u);
}

TEST_F(CommitLogTest,
       ARefusedBatchStopsWritesUnacknowledgedAndAbsentFromTheFile) {
  std::unique_ptr<Store> store = Open(Options(&log_));
  ASSERT_NE(store, nullptr);
  Map<Item> items = *store->GetMap<Item>("items");
  ASSERT_TRUE(items.Set("before", MakeItem("B")).ok());
  log_.RefuseFrom(8);
  absl::StatusOr<WriteResult> refused = items.Set("after", MakeItem("A"));
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(refused.status().message(),
              HasSubstr("commit log refused a batch (batch 8 of 1 records: "
                        "deposed: another replica leads)"));
  EXPECT_THAT(refused.status().message(), HasSubstr("reopened"));
  EXPECT_FALSE(store->Health().ok());
  // No later write is tried: none reaches the log again.
  EXPECT_FALSE(items.Set("later", MakeItem("L")).ok());
  EXPECT_EQ(log_.appended().size(), 1u);
  EXPECT_EQ(store->Stats().wal_records, 1u);
  store.reset();

  // The file holds what was committed only.
  std::unique_ptr<Store> reopened = Open(Options(nullptr));
  ASSERT_NE(reopened, nullptr);
  Map<Item> again = *reopened->GetMap<Item>("items");
  EXPECT_TRUE(again.Get("before")->found());
  EXPECT_FALSE(again.Get("after")->found());
  EXPECT_FALSE(again.Get("later")->found());
}

TEST_F(CommitLogTest, MemoryWritesAreRefused) {
  std::unique_ptr<Store> store = Open(Options(&log_));
  ASSERT_NE(store, nullptr);
  Map<Item> items = *store->GetMap<Item>("items");
  absl::StatusOr<WriteResult> memory =
      items.Set("m", MakeItem("M"), {.durability = Durability::kMemory});
  ASSERT_FALSE(memory.ok());
  EXPECT_EQ(memory.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(memory.status().message(),
              HasSubstr("MEMORY writes are refused in a replicated store"));
  EXPECT_FALSE(items.Get("m")->found());
  EXPECT_TRUE(store->Health().ok()) << "a refused write stops nothing";
  ASSERT_TRUE(items.Set("m", MakeItem("M")).ok());

  // Updates and deletes at MEMORY too, and the in-memory calls.
  absl::StatusOr<UpdateResult> update = items.Update(
      "m",
      [](const Item*) {
        return UpdateDecision<Item>::Set(std::make_shared<Item>(MakeItem("U")));
      },
      {.durability = Durability::kMemory});
  ASSERT_FALSE(update.ok());
  EXPECT_EQ(update.status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<WriteResult> erase =
      items.Delete("m", {.durability = Durability::kMemory});
  ASSERT_FALSE(erase.ok());
  EXPECT_EQ(erase.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(items.SetInMemory("m", MakeItem("I")).code(),
            absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<Entry<Item>> kept = items.Get("m");
  ASSERT_TRUE(kept.ok() && kept->found());
  EXPECT_EQ(kept->value->name(), "M") << "nothing refused changed the value";
  EXPECT_EQ(log_.appended().size(), 1u) << "only the WRITE Set was committed";
}

}  // namespace
}  // namespace persist
