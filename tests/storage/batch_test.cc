// Atomic batches in the engine (storage/batch.h): all or nothing, one
// frame in the WAL, consecutive revisions, and recovery of a batch whole or
// not at all, after a short write at every byte of its frame.
#include "storage/batch.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/internal/wal_format.h"
#include "storage/store.h"
#include "tests/proto/make_item.h"
#include "tests/storage/fault_injection_file_system.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using persist::test::v1::Other;
using persist::testing::MakeItem;
using testing::CapturedLog;
using testing::FaultInjectionFileSystem;
using ::testing::HasSubstr;
using testing::ReadFileOrDie;
using ::testing::StartsWith;
using testing::TempDir;
using Op = FaultInjectionFileSystem::Op;

std::shared_ptr<const Item> Value(const std::string& name, int64_t count = 0) {
  return std::make_shared<Item>(MakeItem(name, count));
}

class BatchTest : public ::testing::Test {
 protected:
  void SetUp() override { Reopen(); }

  StoreOptions Options() {
    StoreOptions options;
    options.path = path_;
    options.maps = {{"items", Item::descriptor()},
                    {"others", Other::descriptor()}};
    options.log = log_.Sink();
    options.auto_shrink.enabled = false;
    options.history.max_changes = kServerMaxChanges;
    options.file_system = &fs_;
    return options;
  }
  void Reopen() {
    store_.reset();
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(Options());
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    items_ = &(*store_->GetMap<Item>("items")).dynamic();
    others_ = &(*store_->GetMap<Other>("others")).dynamic();
  }
  Map<Item> items() const { return Map<Item>(items_); }
  std::string NameOf(const std::string& key) const {
    absl::StatusOr<Entry<Item>> entry = items().Get(key);
    return entry.ok() && entry->found() ? entry->value->name() : "";
  }

  TempDir dir_;
  const std::string path_ = dir_.Path("data.wal");
  CapturedLog log_;
  FaultInjectionFileSystem fs_;
  std::unique_ptr<Store> store_;
  DynamicMap* items_ = nullptr;
  DynamicMap* others_ = nullptr;
};

TEST_F(BatchTest, AppliesEveryOperationWithConsecutiveRevisionsInOneFrame) {
  ASSERT_TRUE(items().Set("gone", MakeItem("G")).ok());
  const std::string before = ReadFileOrDie(path_);
  const uint64_t start = store_->Revision();
  auto other = std::make_shared<Other>();
  other->set_text("n");
  std::vector<BatchOperation> operations;
  operations.push_back(BatchOperation::Set(items_, "a", Value("A")));
  operations.push_back(BatchOperation::Delete(items_, "gone"));
  operations.push_back(BatchOperation::Set(others_, "a", other));
  operations.push_back(BatchOperation::Delete(items_, "never"));
  absl::StatusOr<BatchResult> done =
      store_->Write(std::move(operations), Durability::kFsync);
  ASSERT_TRUE(done.ok()) << done.status();

  ASSERT_EQ(done->results.size(), 4u);
  EXPECT_EQ(done->results[0].outcome, UpdateResult::Outcome::kSet);
  EXPECT_EQ(done->results[0].revision, start + 1);
  EXPECT_EQ(done->results[0].etag, (Etag{store_->Epoch(), start + 1}));
  EXPECT_TRUE(done->results[1].existed);
  EXPECT_EQ(done->results[1].revision, start + 2);
  EXPECT_EQ(done->results[2].revision, start + 3);
  // A delete of a missing key changes nothing: no revision of its own.
  EXPECT_FALSE(done->results[3].existed);
  EXPECT_EQ(done->revision, start + 3);
  EXPECT_EQ(store_->Revision(), start + 3);

  EXPECT_EQ(ReadFileOrDie(path_), absl::StrCat(before,
                                               "B 4\n\n"
                                               "S items:a\n{\"name\":\"A\"}\n"
                                               "D items:gone\n\n"
                                               "S others:a\n{\"text\":\"n\"}\n"
                                               "D items:never\n\n"));

  // The changes, as Watch reads them, say where the batch ends.
  absl::StatusOr<ChangeRead> read =
      store_->ReadChanges(start + 1, {"items", ""}, 10);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->changes.size(), 2u);
  EXPECT_EQ(read->changes[0].batch_end, start + 3);
  EXPECT_EQ(read->changes[1].revision, start + 2);
  EXPECT_EQ(read->changes[1].batch_end, start + 3);

  Reopen();
  EXPECT_EQ(NameOf("a"), "A");
  EXPECT_FALSE(items().Get("gone")->found());
  EXPECT_EQ(store_->GetMap<Other>("others")->Get("a")->value->text(), "n");
}

TEST_F(BatchTest, OneRecordNeedsNoFrame) {
  const std::string before = ReadFileOrDie(path_);
  std::vector<BatchOperation> operations;
  operations.push_back(BatchOperation::Set(items_, "a", Value("A")));
  ASSERT_TRUE(store_->Write(std::move(operations)).ok());
  EXPECT_EQ(ReadFileOrDie(path_),
            absl::StrCat(before, "S items:a\n{\"name\":\"A\"}\n"));
}

TEST_F(BatchTest, AFailedPreconditionChangesNothingAndNamesTheOperation) {
  ASSERT_TRUE(items().Set("a", MakeItem("A")).ok());
  const std::string before = ReadFileOrDie(path_);
  const uint64_t revision = store_->Revision();
  std::vector<BatchOperation> operations;
  operations.push_back(BatchOperation::Set(items_, "b", Value("B")));
  operations.push_back(BatchOperation::Delete(
      items_, "a",
      Precondition::EtagMatches(Etag{store_->Epoch(), 999}.ToString())));
  absl::StatusOr<BatchResult> done = store_->Write(std::move(operations));
  ASSERT_EQ(done.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(std::string(done.status().message()),
              StartsWith("operations[1]: "));
  EXPECT_THAT(done.status().message(), HasSubstr("key \"a\""));
  EXPECT_THAT(done.status().message(), HasSubstr("the batch changed nothing"));
  EXPECT_FALSE(items().Get("b")->found());
  EXPECT_EQ(store_->Revision(), revision);
  EXPECT_EQ(ReadFileOrDie(path_), before);

  operations.clear();
  operations.push_back(BatchOperation::Set(items_, "b", Value("B")));
  operations.push_back(BatchOperation::Set(items_, "a", Value("A2"),
                                           Precondition::MustNotExist()));
  done = store_->Write(std::move(operations));
  EXPECT_EQ(done.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(items().Get("b")->found());
}

TEST_F(BatchTest, UpdatesSeeTheStateBeforeTheBatchAndMayCancel) {
  ASSERT_TRUE(items().Set("counter", MakeItem("c", 41)).ok());
  const Etag etag = items().Get("counter")->etag;
  using Message = google::protobuf::Message;
  std::vector<BatchOperation> operations;
  operations.push_back(BatchOperation::Update(
      items_, "counter",
      [](const Message* current) {
        auto next = std::make_shared<Item>(
            *google::protobuf::DynamicCastToGenerated<Item>(current));
        next->set_count(next->count() + 1);
        return UpdateDecision<Message>::Set(std::move(next));
      },
      Precondition::EtagMatches(etag.ToString())));
  operations.push_back(
      BatchOperation::Update(items_, "missing", [](const Message* current) {
        EXPECT_EQ(current, nullptr);
        return UpdateDecision<Message>::Cancel();
      }));
  absl::StatusOr<BatchResult> done = store_->Write(std::move(operations));
  ASSERT_TRUE(done.ok()) << done.status();
  EXPECT_EQ(items().Get("counter")->value->count(), 42);
  EXPECT_EQ(done->results[1].outcome, UpdateResult::Outcome::kCancelled);
  EXPECT_FALSE(items().Get("missing")->found());
}

TEST_F(BatchTest, AnUpdateFunctionMayRefuseTheWholeBatch) {
  using Message = google::protobuf::Message;
  std::vector<BatchOperation> operations;
  operations.push_back(BatchOperation::Set(items_, "a", Value("A")));
  operations.push_back(BatchOperation::Update(
      items_, "b",
      [](const Message*) -> absl::StatusOr<UpdateDecision<Message>> {
        return absl::NotFoundError("no b to update");
      }));
  absl::StatusOr<BatchResult> done = store_->Write(std::move(operations));
  EXPECT_EQ(done.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(done.status().message(), HasSubstr("operations[1]: no b"));
  EXPECT_FALSE(items().Get("a")->found());
}

TEST_F(BatchTest, RefusesWhatIsNoBatch) {
  struct Case {
    const char* what;
    std::vector<BatchOperation> operations;
    Durability durability;
    const char* message;
  };
  std::vector<Case> cases;
  cases.push_back({"empty", {}, Durability::kWrite, "at least one"});
  {
    std::vector<BatchOperation> twice;
    twice.push_back(BatchOperation::Set(items_, "k", Value("1")));
    twice.push_back(BatchOperation::Delete(items_, "k"));
    cases.push_back({"a key twice", std::move(twice), Durability::kWrite,
                     "operations[1] (map \"items\" key \"k\") writes a key"});
  }
  for (Durability durability : {Durability::kMemory, Durability::kAsync}) {
    std::vector<BatchOperation> one;
    one.push_back(BatchOperation::Set(items_, "k", Value("1")));
    cases.push_back(
        {"not durable", std::move(one), durability, "WRITE or FSYNC"});
  }
  {
    std::vector<BatchOperation> bad_key;
    bad_key.push_back(BatchOperation::Set(items_, "ok", Value("1")));
    bad_key.push_back(BatchOperation::Set(items_, "bad\nkey", Value("1")));
    cases.push_back(
        {"bad key", std::move(bad_key), Durability::kWrite, "operations[1]: "});
  }
  {
    std::vector<BatchOperation> wrong_type;
    wrong_type.push_back(
        BatchOperation::Set(others_, "k", Value("an item, not an other")));
    cases.push_back({"wrong type", std::move(wrong_type), Durability::kWrite,
                     "operations[0]: map \"others\" holds"});
  }
  TempDir other_dir;
  StoreOptions options = Options();
  options.path = other_dir.Path("other.wal");
  options.file_system = nullptr;
  std::unique_ptr<Store> other_store = *Store::Open(options);
  {
    std::vector<BatchOperation> foreign;
    foreign.push_back(BatchOperation::Set(
        &(*other_store->GetMap<Item>("items")).dynamic(), "k", Value("1")));
    cases.push_back({"another store's map", std::move(foreign),
                     Durability::kWrite, "is not a map of the store"});
  }
  const std::string before = ReadFileOrDie(path_);
  for (Case& c : cases) {
    SCOPED_TRACE(c.what);
    absl::StatusOr<BatchResult> done =
        store_->Write(std::move(c.operations), c.durability);
    EXPECT_EQ(done.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(done.status().message(), HasSubstr(c.message));
  }
  EXPECT_FALSE(items().Get("k")->found());
  EXPECT_FALSE(items().Get("ok")->found());
  EXPECT_EQ(ReadFileOrDie(path_), before);
}

TEST_F(BatchTest, AShortWriteAtAnyByteOfTheFrameLeavesNoneOfTheBatch) {
  ASSERT_TRUE(items().Set("a", MakeItem("A")).ok());
  auto batch = [&] {
    std::vector<BatchOperation> operations;
    operations.push_back(BatchOperation::Set(items_, "a", Value("A2")));
    operations.push_back(BatchOperation::Set(items_, "b", Value("B")));
    operations.push_back(BatchOperation::Delete(items_, "c"));
    return operations;
  };
  const size_t frame_size = std::string(
                                "B 3\n\nS items:a\n{\"name\":\"A2\"}\n"
                                "S items:b\n{\"name\":\"B\"}\nD items:c\n\n")
                                .size();
  for (size_t written = 0; written < frame_size; ++written) {
    SCOPED_TRACE(absl::StrCat(written, " bytes of the frame written"));
    fs_.FailAfter(Op::kAppend, 0, absl::InternalError("injected short write"),
                  written);
    absl::StatusOr<BatchResult> done = store_->Write(batch());
    EXPECT_EQ(done.status().code(), absl::StatusCode::kUnavailable);
    // The store stopped taking writes; what it had applied in memory goes
    // with it: a restart brings back the file, which holds none of it.
    Reopen();
    EXPECT_EQ(NameOf("a"), "A");
    EXPECT_FALSE(items().Get("b")->found());
    EXPECT_EQ(store_->Stats().torn_tail_bytes, written);
  }
  ASSERT_TRUE(store_->Write(batch()).ok());
  Reopen();
  EXPECT_EQ(NameOf("a"), "A2");
  EXPECT_EQ(NameOf("b"), "B");
}

TEST(WalFormatTest, CountWalRecordsLeavesOutBatchHeaders) {
  std::string frame;
  AppendBatchHeader(2, &frame);
  frame += "S items:a\n{}\nD items:b\n\n";
  EXPECT_EQ(CountWalRecords(frame), 2);
  EXPECT_EQ(CountWalRecords(absl::StrCat("S items:c\n{}\n", frame)), 3);
  EXPECT_EQ(CountWalRecords(""), 0);
}

TEST_F(BatchTest, ShrinkWritesTheBatchAsPlainRecords) {
  std::vector<BatchOperation> operations;
  operations.push_back(BatchOperation::Set(items_, "a", Value("A")));
  operations.push_back(BatchOperation::Set(items_, "b", Value("B")));
  ASSERT_TRUE(store_->Write(std::move(operations)).ok());
  ASSERT_TRUE(store_->Shrink().ok());
  const std::string file = ReadFileOrDie(path_);
  EXPECT_THAT(file, ::testing::Not(HasSubstr("B 2")));
  Reopen();
  EXPECT_EQ(NameOf("a"), "A");
  EXPECT_EQ(NameOf("b"), "B");
}

}  // namespace
}  // namespace persist
