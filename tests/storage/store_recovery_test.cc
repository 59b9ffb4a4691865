// Opening damaged files: every torn tail recovers, every damage before the
// tail is refused with its line (DESIGN.md section 3).
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/store.h"
#include "tests/storage/damaged_files.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using testing::CapturedLog;
using ::testing::HasSubstr;
using testing::ReadFileOrDie;
using testing::TempDir;
using testing::WriteFileOrDie;

using testing::Damage;
using testing::DamagedFiles;
using testing::kComplete;

constexpr absl::string_view kTailForSkip = "S items:d\n{\"name\":\"D\"}\n";

class StoreRecoveryTest : public ::testing::Test {
 protected:
  absl::StatusOr<std::unique_ptr<Store>> Open(
      RecoveryMode mode = RecoveryMode::kStrict) {
    StoreOptions options;
    options.path = path_;
    options.maps = {{"items", Item::descriptor()}};
    options.log = log_.Sink();
    options.recovery = mode;
    options.auto_shrink.enabled = false;
    return Store::Open(options);
  }

  TempDir dir_;
  const std::string path_ = dir_.Path("data.wal");
  CapturedLog log_;
};

TEST_F(StoreRecoveryTest, RecoversTornTailAtEveryOffsetOfTheLastRecord) {
  const std::string last = "S items:c\n{\"name\":\"C\",\"count\":3}\n";
  const std::string file = absl::StrCat(kComplete, last);
  for (size_t cut = kComplete.size(); cut <= file.size(); ++cut) {
    SCOPED_TRACE(absl::StrCat("file cut at byte ", cut));
    WriteFileOrDie(path_, file.substr(0, cut));
    absl::StatusOr<std::unique_ptr<Store>> store = Open();
    ASSERT_TRUE(store.ok()) << store.status();
    Map<Item> items = *(*store)->GetMap<Item>("items");
    EXPECT_EQ(items.Get("a")->value->count(), 1);
    EXPECT_EQ(items.Get("b")->value->tags_size(), 2);
    const bool complete = cut == file.size();
    EXPECT_EQ(items.Get("c")->found(), complete);
    EXPECT_EQ((*store)->Stats().torn_tail_bytes,
              complete ? 0 : cut - kComplete.size());
    store->reset();
    EXPECT_EQ(ReadFileOrDie(path_), complete ? file : std::string(kComplete));
  }
}

TEST_F(StoreRecoveryTest, RecoversABatchWholeOrNotAtAllAtEveryCut) {
  const std::string batch =
      "B 3\n\n"
      "S items:c\n{\"name\":\"C\"}\n"
      "D items:a\n\n"
      "S items:d\n{\"name\":\"D\"}\n";
  const std::string file = absl::StrCat(kComplete, batch);
  for (size_t cut = kComplete.size(); cut <= file.size(); ++cut) {
    SCOPED_TRACE(absl::StrCat("file cut at byte ", cut));
    WriteFileOrDie(path_, file.substr(0, cut));
    const size_t logged = log_.Messages().size();
    absl::StatusOr<std::unique_ptr<Store>> store = Open();
    ASSERT_TRUE(store.ok()) << store.status();
    Map<Item> items = *(*store)->GetMap<Item>("items");
    const bool complete = cut == file.size();
    EXPECT_EQ(items.Get("a")->found(), !complete);
    EXPECT_EQ(items.Get("c")->found(), complete);
    EXPECT_EQ(items.Get("d")->found(), complete);
    EXPECT_TRUE(items.Get("b")->found());
    EXPECT_EQ((*store)->Stats().torn_tail_bytes,
              complete ? 0 : cut - kComplete.size());
    // Past the first record of the batch, the log says why complete
    // records were cut.
    if (!complete && cut >= kComplete.size() + 5 + 23) {
      const std::vector<std::string> messages = log_.Messages();
      EXPECT_THAT(
          std::vector<std::string>(messages.begin() + logged, messages.end()),
          ::testing::Contains(HasSubstr("an incomplete batch")));
    }
    store->reset();
    EXPECT_EQ(ReadFileOrDie(path_), complete ? file : std::string(kComplete));
  }
}

TEST_F(StoreRecoveryTest, SkipCorruptDropsADamagedBatchWholeWithItsOrphans) {
  const std::string file = absl::StrCat(
      kComplete,
      "B 3\n\nS items:c\n{\"name\":\"C\"}\nS undeclared:x\n{}\n"
      "S items:f\n{\"name\":}\n",
      "B 2\n\nS items:e\n{\"name\":\"E\"}\nS undeclared:y\n{}\n", kTailForSkip);
  WriteFileOrDie(path_, file);
  absl::StatusOr<std::unique_ptr<Store>> store =
      Open(RecoveryMode::kSkipCorrupt);
  ASSERT_TRUE(store.ok()) << store.status();
  Map<Item> items = *(*store)->GetMap<Item>("items");
  EXPECT_FALSE(items.Get("c")->found());
  EXPECT_FALSE(items.Get("f")->found());
  EXPECT_EQ(items.Get("d")->value->name(), "D");
  EXPECT_EQ(items.Get("e")->value->name(), "E");
  EXPECT_EQ((*store)->Stats().skipped_corrupt, 3);
  EXPECT_EQ((*store)->Stats().orphan_keys, 1);  // undeclared:y only
  EXPECT_TRUE(log_.Contains("dropped with the damaged batch that line 8"));
  store->reset();
  EXPECT_EQ(ReadFileOrDie(path_), file);
}

TEST_F(StoreRecoveryTest, SkipCorruptDropsEveryRecordOfABatchWithADamagedLine) {
  // "X" makes two damaged lines of one record: the batch still ends after
  // three records' lines, so "e" goes with it and "last" does not.
  const std::string file =
      absl::StrCat(kComplete, "B 3\n\nS items:c\n{}\nX items:d\n{}\n",
                   "S items:e\n{}\n", kTailForSkip);
  WriteFileOrDie(path_, file);
  absl::StatusOr<std::unique_ptr<Store>> store =
      Open(RecoveryMode::kSkipCorrupt);
  ASSERT_TRUE(store.ok()) << store.status();
  Map<Item> items = *(*store)->GetMap<Item>("items");
  EXPECT_FALSE(items.Get("c")->found());
  EXPECT_FALSE(items.Get("e")->found());
  EXPECT_EQ(items.Get("d")->value->name(), "D");  // the record after it
}

TEST_F(StoreRecoveryTest, RecoversTornTailOfADelete) {
  const std::string file = absl::StrCat(kComplete, "D items:a\n");
  WriteFileOrDie(path_, file);
  absl::StatusOr<std::unique_ptr<Store>> store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  // The delete never completed: "a" is still there.
  EXPECT_TRUE((*store)->GetMap<Item>("items")->Get("a")->found());
}

TEST_F(StoreRecoveryTest, ZeroFilledTailAfterPowerLossIsTorn) {
  WriteFileOrDie(path_, absl::StrCat(kComplete, std::string(64, '\0')));
  absl::StatusOr<std::unique_ptr<Store>> store = Open();
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Stats().torn_tail_bytes, 64u);
}

TEST_F(StoreRecoveryTest, TornHeaderStartsAFreshFile) {
  for (size_t cut = 0; cut < 13; ++cut) {
    WriteFileOrDie(path_, std::string("go-persist 1\n").substr(0, cut));
    absl::StatusOr<std::unique_ptr<Store>> store = Open();
    ASSERT_TRUE(store.ok()) << cut << ": " << store.status();
    store->reset();
    EXPECT_EQ(ReadFileOrDie(path_), "go-persist 1\n") << cut;
  }
}

TEST_F(StoreRecoveryTest, SkippingARecordWithoutValueKeepsTheNextRecord) {
  WriteFileOrDie(path_, absl::StrCat(kComplete, "S items:c\n", kTailForSkip));
  absl::StatusOr<std::unique_ptr<Store>> strict = Open();
  ASSERT_EQ(strict.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(strict.status().message(), HasSubstr("has no value line"));
  EXPECT_THAT(strict.status().message(), HasSubstr("line 9"));
  absl::StatusOr<std::unique_ptr<Store>> store =
      Open(RecoveryMode::kSkipCorrupt);
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->Stats().skipped_corrupt, 1);
  EXPECT_FALSE((*store)->GetMap<Item>("items")->Get("c")->found());
  EXPECT_EQ((*store)->GetMap<Item>("items")->Get("d")->value->name(), "D");
}

class StoreDamageTest : public StoreRecoveryTest,
                        public ::testing::WithParamInterface<Damage> {};

TEST_P(StoreDamageTest, RefusesToOpenNamingTheLineAndLeavesTheFile) {
  const Damage& damage = GetParam();
  WriteFileOrDie(path_, damage.file);
  absl::StatusOr<std::unique_ptr<Store>> store = Open();
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(store.status().message(),
              HasSubstr(absl::StrCat(path_, " line ", damage.line, ":")));
  EXPECT_THAT(store.status().message(), HasSubstr(damage.reason));
  EXPECT_EQ(ReadFileOrDie(path_), damage.file);

  absl::StatusOr<std::unique_ptr<Store>> salvaged =
      Open(RecoveryMode::kSkipCorrupt);
  ASSERT_TRUE(salvaged.ok()) << salvaged.status();
  EXPECT_GE((*salvaged)->Stats().skipped_corrupt, 1);
  EXPECT_TRUE((*salvaged)->GetMap<Item>("items")->Get("a")->found());
  salvaged->reset();
  EXPECT_EQ(ReadFileOrDie(path_), damage.file);
}

INSTANTIATE_TEST_SUITE_P(All, StoreDamageTest,
                         ::testing::ValuesIn(DamagedFiles()),
                         [](const ::testing::TestParamInfo<Damage>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace persist
