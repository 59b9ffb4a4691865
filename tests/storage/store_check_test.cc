// The offline check and repair (storage/check.h) against opening: for every
// damaged file of the recovery tests, and the other files a store meets,
// check's verdict is Store::Open's, word for word, and so are the keys it
// counts; a repaired copy opens cleanly with what a salvage would serve.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "google/protobuf/wrappers.pb.h"
#include "gtest/gtest.h"
#include "persist/test/v1/engine.pb.h"
#include "storage/check.h"
#include "storage/store.h"
#include "tests/storage/damaged_files.h"
#include "tests/storage/test_files.h"

namespace persist {
namespace {

using persist::test::v1::Item;
using testing::Damage;
using ::testing::HasSubstr;
using testing::kComplete;
using testing::TempDir;
using testing::WriteFileOrDie;

// Every key of every map of `store`, with its value's name.
using Keys = std::map<std::string, std::string>;

Keys KeysOf(Store& store) {
  Keys keys;
  for (DynamicMap* map : store.Maps()) {
    EXPECT_TRUE(map->Range([&](absl::string_view key,
                               const Entry<google::protobuf::Message>& e) {
                     const auto& item = static_cast<const Item&>(*e.value);
                     keys[absl::StrCat(map->name(), ":", key)] = item.name();
                     return true;
                   })
                    .ok());
  }
  return keys;
}

class StoreCheckTest : public ::testing::TestWithParam<Damage> {
 protected:
  StoreOptions Options(RecoveryMode mode, const std::string& path = "") {
    StoreOptions options =
        testing::QuietStoreOptions(dir_, {{"items", Item::descriptor()}});
    if (!path.empty()) options.path = path;
    options.recovery = mode;
    return options;
  }

  // Check and open agree on `file` in `mode`: the verdict, and when it
  // opens, the live keys of each map and of the orphans.
  void ExpectCheckAgreesWithOpen(const std::string& file, RecoveryMode mode) {
    WriteFileOrDie(path_, file);
    absl::StatusOr<CheckReport> report = CheckStore(Options(mode));
    ASSERT_TRUE(report.ok()) << report.status();
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(Options(mode));
    EXPECT_EQ(report->verdict, store.status());
    if (!store.ok()) return;
    const StoreStats stats = (*store)->Stats();
    ASSERT_EQ(report->maps.size(), stats.maps.size());
    for (size_t i = 0; i < stats.maps.size(); ++i) {
      EXPECT_EQ(report->maps[i].name, stats.maps[i].name);
      EXPECT_EQ(report->maps[i].live_keys, stats.maps[i].live_keys);
    }
    int64_t orphans = 0;
    for (const auto& [map, keys] : report->orphan_keys) orphans += keys;
    EXPECT_EQ(orphans, stats.orphan_keys);
    EXPECT_EQ(static_cast<int64_t>(report->damaged.size()),
              stats.skipped_corrupt);
    EXPECT_EQ(report->torn_tail_bytes, stats.torn_tail_bytes);
  }

  TempDir dir_;
  const std::string path_ = dir_.Path("data.wal");
};

TEST_P(StoreCheckTest, CheckSaysWhatOpeningDoesForEveryDamagedFile) {
  const Damage& damage = GetParam();
  ExpectCheckAgreesWithOpen(damage.file, RecoveryMode::kStrict);
  ExpectCheckAgreesWithOpen(damage.file, RecoveryMode::kSkipCorrupt);
  absl::StatusOr<CheckReport> report =
      CheckStore(Options(RecoveryMode::kStrict));
  ASSERT_TRUE(report.ok());
  ASSERT_FALSE(report->damaged.empty());
  EXPECT_EQ(report->damaged.front().line, damage.line);
  EXPECT_THAT(report->damaged.front().reason, HasSubstr(damage.reason));
}

TEST_P(StoreCheckTest, RepairedCopiesOpenCleanlyWithWhatASalvageServes) {
  const Damage& damage = GetParam();
  WriteFileOrDie(path_, damage.file);
  Keys salvaged;
  {
    auto store = Store::Open(Options(RecoveryMode::kSkipCorrupt));
    ASSERT_TRUE(store.ok()) << store.status();
    salvaged = KeysOf(**store);
  }
  // Under skip_corrupt: every readable record.
  const std::string all = dir_.Path("all.wal");
  absl::StatusOr<RepairReport> repaired =
      RepairStore(Options(RecoveryMode::kSkipCorrupt), all);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  {
    auto store = Store::Open(Options(RecoveryMode::kStrict, all));
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(KeysOf(**store), salvaged);
  }
  // Strict: the records before the first damage, which hold "a" and "b".
  const std::string prefix = dir_.Path("prefix.wal");
  ASSERT_TRUE(RepairStore(Options(RecoveryMode::kStrict), prefix).ok());
  auto store = Store::Open(Options(RecoveryMode::kStrict, prefix));
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ(KeysOf(**store), (Keys{{"items:a", "A"}, {"items:b", "B"}}));
  EXPECT_EQ(testing::ReadFileOrDie(path_), damage.file);  // never touched
}

INSTANTIATE_TEST_SUITE_P(All, StoreCheckTest,
                         ::testing::ValuesIn(testing::DamagedFiles()),
                         [](const ::testing::TestParamInfo<Damage>& info) {
                           return std::string(info.param.name);
                         });

// Files that open: torn tails at every offset, orphans (with JSON of any
// shape, since they are kept verbatim), a missing file, a bare header.
TEST(StoreCheckOpensTest, CheckAgreesWithOpenOnFilesThatOpen) {
  const std::string last = "S items:c\n{\"name\":\"C\"}\n";
  std::vector<std::string> files;
  const std::string whole = absl::StrCat(kComplete, last);
  for (size_t cut = kComplete.size(); cut <= whole.size(); ++cut) {
    files.push_back(whole.substr(0, cut));
  }
  // An orphan record whose JSON is invalid between two good records: the
  // open keeps it verbatim and serves both good keys.
  files.push_back(absl::StrCat(kComplete, "S other:x\n{not json\n", last));
  files.push_back(absl::StrCat(kComplete, "S untyped\n[1,2]\nD other:y\n\n"));
  files.push_back("go-persist 1\n");
  files.push_back("go-pers");
  // A replica's file: its last commit record, cut at every byte.
  const std::string committed =
      absl::StrCat(kComplete, "C 4\n\n", last, "C 5\n\n");
  for (size_t cut = committed.size() - 5; cut <= committed.size(); ++cut) {
    files.push_back(committed.substr(0, cut));
  }
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    TempDir dir;
    const std::string path = dir.Path("data.wal");
    StoreOptions options =
        testing::QuietStoreOptions(dir, {{"items", Item::descriptor()}});
    WriteFileOrDie(path, file);
    absl::StatusOr<CheckReport> report = CheckStore(options);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_TRUE(report->verdict.ok()) << report->verdict;
    auto store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    EXPECT_EQ(report->maps[0].live_keys, (*store)->Stats().maps[0].live_keys);
    EXPECT_EQ(report->torn_tail_bytes, (*store)->Stats().torn_tail_bytes);
    EXPECT_EQ(report->commit_seq, (*store)->Stats().commit_seq);
  }
}

TEST(StoreCheckOpensTest, RepairKeepsTheCommitRecordsBeforeTheFirstDamage) {
  TempDir dir;
  StoreOptions options =
      testing::QuietStoreOptions(dir, {{"items", Item::descriptor()}});
  WriteFileOrDie(options.path,
                 absl::StrCat(kComplete, "C 4\n\nS items:c\n{}\nC 5\n\n",
                              "S items:d\n{\"name\":}\nC 6\n\n"));
  absl::StatusOr<CheckReport> report = CheckStore(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->commit_seq, 6u);
  const std::string copy = dir.Path("copy.wal");
  ASSERT_TRUE(RepairStore(options, copy).ok());
  EXPECT_EQ(testing::ReadFileOrDie(copy),
            absl::StrCat(kComplete, "C 4\n\nS items:c\n{}\nC 5\n\n"))
      << "entry 6 held the damage: the copy ends with entry 5";
}

TEST(StoreCheckOpensTest, AFileThatIsNotAWalIsRefusedAsOpenRefusesIt) {
  TempDir dir;
  StoreOptions options =
      testing::QuietStoreOptions(dir, {{"items", Item::descriptor()}});
  WriteFileOrDie(options.path, "{\"some\":\"json\"}\n");
  absl::StatusOr<CheckReport> report = CheckStore(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->verdict, Store::Open(options).status());
  EXPECT_EQ(report->verdict.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(RepairStore(options, dir.Path("copy.wal")).ok());
}

TEST(StoreCheckOpensTest, RecordsGoPersistCannotReadAreReported) {
  TempDir dir;
  StoreOptions options = testing::QuietStoreOptions(
      dir, {{"doubles", google::protobuf::DoubleValue::descriptor()}});
  WriteFileOrDie(options.path,
                 "go-persist 1\n"
                 "S doubles:fine\n1.5\n"
                 "S doubles:nan\n\"NaN\"\n"
                 "S doubles:inf\n\"-Infinity\"\n");
  absl::StatusOr<CheckReport> report = CheckStore(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->verdict.ok());  // persist reads it
  ASSERT_EQ(report->go_persist_unreadable.size(), 2u);
  EXPECT_EQ(report->go_persist_unreadable[0].line, 5);
  EXPECT_THAT(report->go_persist_unreadable[0].reason,
              HasSubstr("key \"nan\": value = NaN"));
  EXPECT_THAT(report->go_persist_unreadable[1].reason, HasSubstr("-Infinity"));
}

TEST(StoreCheckOpensTest, CheckNeitherLocksNorChangesTheFile) {
  TempDir dir;
  StoreOptions options =
      testing::QuietStoreOptions(dir, {{"items", Item::descriptor()}});
  auto store = Store::Open(options);
  ASSERT_TRUE(store.ok());
  Item item;
  item.set_name("v");
  ASSERT_TRUE((*store)->GetMap<Item>("items")->Set("k", item).ok());
  // The store holds the lock; a check beside it still reads the file.
  absl::StatusOr<CheckReport> report = CheckStore(options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->verdict.ok());
  EXPECT_EQ(report->maps[0].live_keys, 1);
}

}  // namespace
}  // namespace persist
